"""The engine's loop-thread commands: what each queued request does to the state machine.

Separate from ``core`` because these are the engine's *policy* (which requests it accepts
in which state, and what arming or pausing does to the drivers), while ``core`` is its
*mechanism* (the fixed-rate loop, stop handling, transitions). ``LoopCommands`` is given
the engine (composition, not a mixin) and ``table()`` registers each command once by
name; ``Engine._handle`` looks a queued command up there. Every command runs on the loop
thread only, so it may touch the hardware (under ``hw_lock``) and the state directly;
``panel_control`` calls ``start``/``pause``/``resume``/``reset_estop`` from the loop
thread too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station.engine import calibrate, step_end
from station.engine import messages as ev
from station.engine.messages import SessionId
from station.engine.player import Player, check_program
from station.errors import EngineError
from station.program import Program
from station.vocab import IdlePattern

if TYPE_CHECKING:
    from station.engine.core import Engine


class QueuedCommand:
    """A command waiting for the loop thread (``Engine.submit``/``post``)."""

    __slots__ = ("done", "error", "name", "params", "result")

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name, self.params = name, params
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class LoopCommands:
    """The commands the loop thread runs; each returns the IPC result."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def table(self) -> dict[str, Callable[..., Any]]:
        """Queued command name -> handler (``Engine.submit``/``post`` use these names)."""
        return {
            "arm": self.arm,
            "disarm": self.disarm,
            "start": self.start,
            "pause": self.pause,
            "resume": self.resume,
            "reset_estop": self.reset_estop,
            "calibrate_begin": self.calibrate_begin,
            "set_idle_pattern": self.set_idle_pattern,
            "panel": self.panel,
            "end_step": lambda **kw: step_end.end_step(self.engine, **kw),
        }

    def arm(self, program: Program, session_id: SessionId | None) -> dict[str, Any]:
        eng = self.engine
        if eng.estop_latched:
            raise EngineError("estop", "the e-stop is latched; reset it before arming")
        if eng.state in ("running", "paused"):
            raise EngineError("busy", "a program is playing; stop it before arming another")
        check_program(program, eng.hw)
        eng.fault = None
        with eng.hw_lock:
            if not eng.drivers_on:
                eng.hw.start_all()  # EN high, RTP mode at 0, brushes attached at park
                eng.drivers_on = True
                eng.poller.reset(time.monotonic_ns())
                eng.drivers_event.set()
        eng.program, eng.session_id = program, session_id
        eng.player = Player(program=program, hw=eng.hw, poller=eng.poller,
                            rate_hz=eng.rate_hz)  # fmt: skip
        eng.program_ms = 0.0
        eng.live_rating = None
        eng.set_state("armed")
        # Always, even when re-arming an armed engine: where a session's history begins.
        eng.hub.emit(ev.ArmedEvent(session_id=session_id, protocol_id=program.protocol_id,
                              level=program.level, duration_ms=program.duration_ms))  # fmt: skip
        return {"state": eng.state, "session_id": session_id}

    def disarm(self) -> dict[str, Any]:
        eng = self.engine
        if eng.state in ("running", "paused"):
            raise EngineError("busy", "a program is playing; use stop")
        with eng.hw_lock:
            eng.hw.all_off()
        eng.drivers_on = False
        eng.program = eng.player = None
        eng.program_ms = None
        if eng.state == "armed":
            eng.set_state("idle")
        return {"state": eng.state}

    def start(self, session_id: SessionId | None = None, by: str = "api") -> dict[str, Any]:
        eng = self.engine
        if eng.estop_latched:
            raise EngineError("estop", "the e-stop is latched; reset it first")
        if (
            eng.state in ("running", "paused")
            and session_id is not None
            and session_id == eng.session_id
        ):
            # One decision, here: a page start racing the panel's start (or a second tab)
            # for the same armed session finds it started, which is what it asked for.
            return {"state": eng.state, "session_id": eng.session_id, "already": True}
        if eng.state != "armed" or eng.player is None:
            raise EngineError("not_armed", f"nothing armed to start (state {eng.state})")
        if session_id is not None and session_id != eng.session_id:
            raise EngineError(
                "wrong_session",
                f"armed session is {eng.session_id!r}, not {session_id!r}; arm it first",
            )
        if eng.calibrating is not None:
            raise EngineError(
                "calibrating",
                f"{eng.calibrating} is being auto-calibrated (about 1 s); start again when "
                "it has finished",
            )
        eng.recorder.reset()
        eng.program_ms = 0.0
        eng.set_state("running")
        eng.pending_start_by = by
        eng.start_step()
        return {"state": "running", "session_id": eng.session_id}

    def pause(self, by: str = "api") -> dict[str, Any]:
        eng = self.engine
        if eng.state != "running" or eng.player is None:
            raise EngineError("not_running", f"nothing to pause (state {eng.state})")
        with eng.hw_lock:
            eng.player.silence()
        eng.set_state("paused")
        return {"state": "paused", "program_ms": eng.program_ms}

    def resume(self, by: str = "api") -> dict[str, Any]:
        eng = self.engine
        if eng.state != "paused" or eng.player is None:
            raise EngineError("not_paused", f"nothing to resume (state {eng.state})")
        eng.player.resume_at(eng.program_ms or 0.0)
        eng.set_state("running")
        return {"state": "running", "program_ms": eng.program_ms}

    def reset_estop(self, by: str = "api") -> dict[str, Any]:
        eng = self.engine
        if getattr(eng.hw.panel, "estop_active", False):
            raise EngineError(
                "estop_active",
                "the e-stop contact is still open: twist the e-stop button out (or check its "
                "wiring) before resetting",
            )
        eng.estop_latched = False
        if eng.state == "estop":
            eng.set_state("idle")
        eng.hub.emit(ev.EstopResetEvent(by=by))
        return {"state": eng.state}

    def calibrate_begin(self, actuator: str) -> dict[str, Any]:
        """The state checks for ``station.engine.calibrate.run_calibration``, on the loop
        thread so that no start can slip in between; the calibration itself runs on the
        caller's thread under the hardware lock."""
        eng = self.engine
        if eng.state in ("running", "paused"):
            raise EngineError(
                "busy",
                f"session {eng.session_id} is {eng.state}; stop it first (the Stop button, "
                "or station stop), then calibrate",
            )
        if eng.estop_latched:
            raise EngineError(
                "estop", "the e-stop is latched; release and reset it before calibrating"
            )
        if eng.calibrating is not None:
            raise EngineError(
                "busy", f"{eng.calibrating} is being calibrated; wait for it to finish"
            )
        budget_s = calibrate.CALIBRATE_BUDGET_S  # read now: tests shorten it
        eng.calibrating = actuator
        eng.relaxed_until_ns = time.monotonic_ns() + int(budget_s * 1e9)
        eng.hub.emit(ev.CalibratingEvent(actuator=actuator, budget_s=budget_s))
        return {"calibrating": actuator}

    def set_idle_pattern(self, pattern: IdlePattern) -> dict[str, Any]:
        self.engine.idle_pattern = pattern
        self.engine.hub.emit(ev.IndicatorEvent(pattern=pattern))
        return {"idle_pattern": pattern}

    def panel(self, what: str, **params: Any) -> None:
        pc = self.engine.panel_control
        if pc is not None:
            pc.handle(what, time.monotonic(), **params)
