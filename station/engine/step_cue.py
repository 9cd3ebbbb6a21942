"""The panel's cue at each step change: the LEDs flash the ``step`` pattern briefly.

A patient with a hand in a bowl of rice, eyes closed, needs to know that the step has
changed without watching the page (the page chimes too). The cue is LEDs only: the panel
has no buzzer, and a cue must never drive a stimulation actuator (a buzz on a haptic
driver would be an unprescribed stimulus, possibly on the sensitive skin itself). It is
never on the loop thread: the event pump calls the listener, and a timer thread puts the
pattern of the engine's state back after ``CUE_S`` (the state's pattern *now*, so a stop
during the cue shows "stopped", never an old pattern).

Only a change to a later step of a session that is running cues (not the first step:
Start itself is the patient's own action).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.engine.core import Engine
    from station.engine.panel_control import PanelControl

CUE_PATTERN = "step"
CUE_S = 0.6


class StepCue:
    """Listens to the engine's events; flashes ``CUE_PATTERN`` on a step change."""

    def __init__(self, *, engine: Engine, panel_control: PanelControl, cue_s: float = CUE_S):
        self.engine = engine
        self.control = panel_control
        self.panel = panel_control.panel
        self.cue_s = cue_s
        self.cues = 0  # how many were shown (tests, status)
        self._timer: threading.Timer | None = None
        self._closed = False
        engine.hub.add_listener(self._on_event)  # after PanelControl's: the cue wins

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") != "step_started" or not ev.get("index"):
            return
        if self.engine.state != "running" or self._closed:
            return
        with contextlib.suppress(ValueError):
            self.panel.set_leds(CUE_PATTERN)
            self.cues += 1
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.cue_s, self._restore, args=(ev.get("kind"),))
            self._timer.daemon = True
            self._timer.start()

    def _restore(self, step_kind: str | None) -> None:
        if self._closed or getattr(self.panel, "led_pattern", None) != CUE_PATTERN:
            return  # something else (a stop, a pause) has shown its pattern meanwhile
        with contextlib.suppress(Exception):  # a cue is best effort; a closed panel is fine
            self.panel.set_leds(self.control.pattern_for(self.engine.state, step_kind))

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
