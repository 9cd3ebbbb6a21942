"""The engine's command handlers: what each queued request does to the state machine.

Separate from ``core`` because these are the engine's *policy* (which requests it accepts
in which state, and what arming or pausing does to the drivers), while ``core`` is its
*mechanism* (the fixed-rate loop, stop handling, transitions). ``Engine`` inherits
``EngineCommands``; ``Engine._handle`` dispatches a queued command named ``x.y`` to
``_cmd_x_y`` here. Every handler runs on the loop thread only, so it may touch the
hardware (under ``hw_lock``) and the state directly; panel_control calls the
``_cmd_start``/``_cmd_pause``/``_cmd_resume``/``_cmd_reset_estop`` handlers from the loop
thread too.
"""

from __future__ import annotations

import time
from typing import Any

from station.engine.player import Player, check_program
from station.errors import StationError
from station.program import Program


class EngineError(StationError):
    """A request the engine refuses; ``code`` is the IPC error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EngineCommands:
    """The ``_cmd_*`` handlers, mixed into ``Engine`` (they use its state, hardware and
    hub; see ``station.engine.core.Engine`` for the attributes)."""

    def _cmd_arm(self, program: Program, session_id: str | None) -> dict[str, Any]:
        if self.estop_latched:
            raise EngineError("estop", "the e-stop is latched; reset it before arming")
        if self.state in ("running", "paused"):
            raise EngineError("busy", "a program is playing; stop it before arming another")
        check_program(program, self.hw)
        self.fault = None
        with self.hw_lock:
            if not self.drivers_on:
                self.hw.start_all()  # EN high, RTP mode at 0, brushes attached at park
                self.drivers_on = True
                self.poller.reset(time.monotonic_ns())
                self.drivers_event.set()
        self.program, self.session_id = program, session_id
        self.player = Player(program=program, hw=self.hw, poller=self.poller,
                             rate_hz=self.rate_hz)  # fmt: skip
        self.program_ms = 0.0
        self.live_rating = None
        self._set_state("armed")
        # Always, even when re-arming an armed engine: where a session's history begins.
        self.hub.emit("armed", session_id=session_id, protocol_id=program.protocol_id,
                      level=program.level, duration_ms=program.duration_ms)  # fmt: skip
        return {"state": self.state, "session_id": session_id}

    def _cmd_disarm(self) -> dict[str, Any]:
        if self.state in ("running", "paused"):
            raise EngineError("busy", "a program is playing; use stop")
        with self.hw_lock:
            self.hw.all_off()
        self.drivers_on = False
        self.program = self.player = None
        self.program_ms = None
        if self.state == "armed":
            self._set_state("idle")
        return {"state": self.state}

    def _cmd_start(self, session_id: str | None = None, by: str = "api") -> dict[str, Any]:
        if self.estop_latched:
            raise EngineError("estop", "the e-stop is latched; reset it first")
        if self.state != "armed" or self.player is None:
            raise EngineError("not_armed", f"nothing armed to start (state {self.state})")
        if session_id is not None and session_id != self.session_id:
            raise EngineError(
                "wrong_session",
                f"armed session is {self.session_id!r}, not {session_id!r}; arm it first",
            )
        if self.calibrating is not None:
            raise EngineError(
                "calibrating",
                f"{self.calibrating} is being auto-calibrated (about 1 s); start again when "
                "it has finished",
            )
        self.recorder.reset()
        self.program_ms = 0.0
        self._set_state("running")
        self._pending_start_by = by
        self._start_step()
        return {"state": "running", "session_id": self.session_id}

    def _cmd_pause(self, by: str = "api") -> dict[str, Any]:
        if self.state != "running" or self.player is None:
            raise EngineError("not_running", f"nothing to pause (state {self.state})")
        with self.hw_lock:
            self.player.silence()
        self._set_state("paused")
        return {"state": "paused", "program_ms": self.program_ms}

    def _cmd_resume(self, by: str = "api") -> dict[str, Any]:
        if self.state != "paused" or self.player is None:
            raise EngineError("not_paused", f"nothing to resume (state {self.state})")
        self.player.resume_at(self.program_ms or 0.0)
        self._set_state("running")
        return {"state": "running", "program_ms": self.program_ms}

    def _cmd_reset_estop(self, by: str = "api") -> dict[str, Any]:
        if getattr(self.hw.panel, "estop_active", False):
            raise EngineError(
                "estop_active",
                "the e-stop contact is still open: twist the e-stop button out (or check its "
                "wiring) before resetting",
            )
        self.estop_latched = False
        if self.state == "estop":
            self._set_state("idle")
        self.hub.emit("estop_reset", by=by)
        return {"state": self.state}

    def _cmd_calibrate_begin(self, actuator: str) -> dict[str, Any]:
        """The state checks for ``station.engine.calibrate.run_calibration``, on the loop
        thread so that no start can slip in between; the calibration itself runs on the
        caller's thread under the hardware lock."""
        from station.engine.calibrate import CALIBRATE_BUDGET_S

        if self.state in ("running", "paused"):
            raise EngineError(
                "busy",
                f"session {self.session_id} is {self.state}; stop it first (the Stop button, "
                "or station stop), then calibrate",
            )
        if self.estop_latched:
            raise EngineError(
                "estop", "the e-stop is latched; release and reset it before calibrating"
            )
        if self.calibrating is not None:
            raise EngineError(
                "busy", f"{self.calibrating} is being calibrated; wait for it to finish"
            )
        self.calibrating = actuator
        self.relaxed_until_ns = time.monotonic_ns() + int(CALIBRATE_BUDGET_S * 1e9)
        self.hub.emit("calibrating", actuator=actuator, budget_s=CALIBRATE_BUDGET_S)
        return {"calibrating": actuator}

    def _cmd_set_idle_pattern(self, pattern: str) -> dict[str, Any]:
        self.idle_pattern = pattern
        self.hub.emit("indicator", pattern=pattern)
        return {"idle_pattern": pattern}

    def _cmd_panel(self, what: str, **params: Any) -> None:
        if self.panel_control is not None:
            self.panel_control.handle(what, time.monotonic(), **params)
