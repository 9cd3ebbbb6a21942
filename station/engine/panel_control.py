"""What the panel's buttons mean, and which LED pattern each engine state shows.

Buttons (issue 7):
* start, when a program is armed: starts it at once (the program was armed in advance,
  so no round trip to the app);
* start while running: pauses at once (outputs to zero); a press while paused resumes
  when released (a short press);
* start held for ``LONG_PRESS_S`` (running or paused): stops ("panel_stop"), detected
  while still held, not on release;
* stop: stops at once ("panel_stop");
* e-stop contact open: stops and latches ("estop") until ``reset_estop`` over IPC, or a
  long press of start made together with stop (stop pressed within ``CHORD_S`` of start
  and start held ``LONG_PRESS_S``) while the e-stop contact is closed again. The Panel
  interface reports stop presses but not stop releases, so "both held" is approximated
  by "pressed together, start held"; stop itself is harmless in the estop state.
* rating buttons/encoder: +1 / -1 change the live rating (0..10), 0 confirms it; a
  rating at or above the program's stop threshold stops ("rating").

Stop and e-stop act directly in the gpiozero callback (a flag and a wake-up: stop wins
without waiting for the command queue); everything else is posted to the loop thread.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station.engine.messages import RatingEvent
from station.vocab import PLAYING_STATES, STATE_PATTERNS, EngineState, LedPattern

if TYPE_CHECKING:
    from station.engine.core import Engine

LONG_PRESS_S = 1.5
CHORD_S = 0.5


class PanelControl:
    """Binds a ``hardware.interfaces.Panel`` to an ``Engine``."""

    def __init__(
        self, *, engine: Engine, panel: Any, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.panel = panel
        self._clock = clock
        self._start_down_at: float | None = None
        self._stop_down_at: float | None = None
        self._long_done = False
        self._press_state: str | None = None  # engine state when start went down
        self.rating = 0
        engine.panel_control = self
        panel.on_start_pressed = self._start_pressed
        panel.on_start_released = self._start_released
        panel.on_stop_pressed = self._stop_pressed
        panel.on_estop = self._estop
        panel.on_rating = self._rating
        engine.hub.add_listener(self._on_event)
        # Lit from power-on: before the first state event the LEDs would stay dark, and a
        # dark panel reads as "switched off" (found by tests/test_appliance_*.py).
        with contextlib.suppress(ValueError):
            panel.set_leds(self.pattern_for(engine.state, None))

    # --- gpiozero callbacks (any thread): a flag or a posted command --------------------
    def _start_pressed(self) -> None:
        self.engine.post("panel", what="start_pressed", at=self._clock())

    def _start_released(self, held_s: float) -> None:
        self.engine.post("panel", what="start_released", held_s=held_s)

    def _stop_pressed(self) -> None:
        self._stop_down_at = self._clock()
        self.engine.request_stop("panel_stop", by="panel stop button")

    def _estop(self, active: bool) -> None:
        if active:
            self.engine.request_stop("estop", by="e-stop contact open")

    def _rating(self, step: int) -> None:
        sid = self.engine.session_id  # without it the app cannot file the rating
        if step == 0:
            self.engine.hub.emit(
                RatingEvent(value=self.rating, confirmed=True, by="panel", session_id=sid)
            )
            return
        self.rating = max(0, min(10, self.rating + step))
        self.engine.hub.emit(
            RatingEvent(value=self.rating, confirmed=False, by="panel", session_id=sid)
        )
        self.engine.rate(self.rating)

    # --- loop thread --------------------------------------------------------------------
    def handle(self, what: str, now: float, **params: Any) -> None:
        eng, cmds = self.engine, self.engine.commands
        if what == "start_pressed":
            self._start_down_at = params.get("at", now)
            self._long_done = False
            self._press_state = eng.state
            if eng.state == "armed":
                self.rating = 0
                cmds.start(by="panel")
            elif eng.state == "running":
                cmds.pause(by="panel")
        elif what == "start_released":
            held = params.get("held_s", 0.0)
            down = self._press_state
            self._start_down_at = None
            if self._long_done:
                return
            if down == "paused" and held < LONG_PRESS_S and eng.state == "paused":
                cmds.resume(by="panel")

    def needs_poll(self) -> bool:
        """True while start is held and a long press may still come: the loop then
        wakes every few ms even when idle (estop reset chord)."""
        return self._start_down_at is not None and not self._long_done

    def poll(self, now: float) -> None:
        """Called by the loop every few ms: detect a long press while it is held."""
        down = self._start_down_at
        if down is None or self._long_done or now - down < LONG_PRESS_S:
            return
        self._long_done = True
        eng = self.engine
        chord = self._stop_down_at is not None and abs(self._stop_down_at - down) <= CHORD_S
        if eng.estop_latched:
            if chord and not getattr(self.panel, "estop_active", True):
                eng.commands.reset_estop(by="panel (start + stop held)")
            return
        if eng.state in PLAYING_STATES:
            eng.request_stop("panel_stop", by="panel start held")

    # --- LEDs (event pump thread) --------------------------------------------------------
    def pattern_for(self, state: EngineState, step_kind: str | None) -> LedPattern:
        if state == "running" and step_kind == "rate":
            return "rating"
        if state == "idle":
            return self.engine.idle_pattern
        return STATE_PATTERNS.get(state, "idle")

    def _step_kind(self) -> str | None:
        """The playing step's kind, so a resume inside a rate step shows "rating" again
        (found by tests/test_appliance_*.py). Read from another thread: tolerate a race."""
        prog, player = self.engine.program, self.engine.player
        if prog is None or player is None:
            return None
        try:
            return prog.steps[player.step_index].kind
        except IndexError:
            return None

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind not in ("state", "step_started", "indicator", "estop_reset"):
            return
        step_kind = ev.get("kind") if kind == "step_started" else self._step_kind()
        with contextlib.suppress(ValueError):
            self.panel.set_leds(self.pattern_for(self.engine.state, step_kind))
