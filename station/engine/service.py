"""The IPC methods: validate each request, then hand it to the engine's loop thread.

Methods (params -> result):
* ``status`` -> ``Engine.status()``
* ``arm`` {program: Program JSON, session_id: str|null} -> {state, session_id}
* ``disarm``, ``start`` {session_id?}, ``pause``, ``resume``, ``reset_estop`` -> {state, ...}
* ``stop`` {reason: "api"|"too_much" (default "api"), by?} -> {stopped: true, state}
  (returns once the loop has silenced every output, or after 1 s with stopped=false)
* ``rate`` {value: 0..10} -> {stopped: bool}
* ``calibrate`` {actuator} -> the stored auto-calibration values (takes ~1.1 s; refused
  while a session plays or is paused, for a brush or an unknown name)
* ``calibration`` -> {actuators: {name: {actuator_kind, stored, pinned_in_wiring}}, file}
* ``set_indicator`` {pattern: "idle"|"due"|"limit"} -> the idle LED pattern
* ``subscribe`` -> the connection becomes the event stream
* simulator only: ``sim.press`` / ``sim.release`` {button}, ``sim.outputs``,
  ``sim.trace`` {since=0, limit=1000}, ``sim.fault`` {device, kind}, ``sim.clear_faults``,
  ``sim.bus_transactions``, ``sim.stall`` {ms, spin=false} (stalls one tick by a sleep or
  a busy spin: watchdog tests).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from station.engine.calibrate import run_calibration, stored
from station.engine.core import Engine, EngineError
from station.engine.ipc import EngineSubscription
from station.errors import problems_from_validation
from station.program import Program

STOP_BY_API = ("api", "too_much")
INDICATORS = ("idle", "due", "limit")
STOP_WAIT_S = 1.0


def _check_seq(since: Any) -> None:
    if not isinstance(since, int) or isinstance(since, bool) or since < 0:
        raise _bad(f"since = {since!r}: must be a whole number >= 0 (an event seq)")


def _bad(message: str) -> EngineError:
    return EngineError("bad_params", message)


class EngineService:
    def __init__(self, *, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, method: str, params: dict[str, Any]) -> Any:
        fn = getattr(self, "m_" + method.replace(".", "_"), None)
        if fn is None or (method.startswith("sim.") and self.engine.hw.sim is None):
            if method.startswith("sim.") and fn is not None:
                raise EngineError("not_simulated", f"{method} exists only in simulator mode")
            raise EngineError("unknown_method", f"no method {method!r}")
        try:
            return fn(**params)
        except TypeError as exc:
            raise _bad(f"{method}: {exc}") from None

    # --- control ---------------------------------------------------------------------
    def m_status(self) -> dict[str, Any]:
        return self.engine.status()

    def m_arm(self, program: Any = None, session_id: str | None = None) -> Any:
        if not isinstance(program, dict):
            raise _bad("arm: params.program must be a compiled program (JSON object)")
        try:
            prog = Program.model_validate(program)
        except ValidationError as exc:
            detail = "; ".join(
                f"program.{p.path}: {p.message}" for p in problems_from_validation(exc, program)
            )
            raise _bad(f"arm: the program is invalid: {detail}") from None
        if session_id is not None and not isinstance(session_id, str | int):
            raise _bad("arm: session_id must be a string")
        return self.engine.submit("arm", program=prog, session_id=session_id)

    def m_disarm(self) -> Any:
        return self.engine.submit("disarm")

    def m_start(self, session_id: Any = None) -> Any:
        return self.engine.submit("start", session_id=session_id)

    def m_pause(self) -> Any:
        return self.engine.submit("pause")

    def m_resume(self) -> Any:
        return self.engine.submit("resume")

    def m_reset_estop(self) -> Any:
        return self.engine.submit("reset_estop")

    def m_calibrate(self, actuator: Any = None) -> dict[str, Any]:
        """DRV2605L auto-calibration of one haptic actuator (~1.1 s); see
        ``station.engine.calibrate``. Runs on this connection's thread, never the loop's."""
        return run_calibration(self.engine, actuator)

    def m_calibration(self) -> dict[str, Any]:
        """Every haptic actuator's stored calibration (None when never calibrated)."""
        return stored(self.engine)

    def m_stop(self, reason: str = "api", by: str | None = None) -> dict[str, Any]:
        if reason not in STOP_BY_API:
            raise _bad(f"stop: reason {reason!r} is not allowed; use one of {STOP_BY_API}")
        eng = self.engine
        eng.request_stop(reason, by=by)
        done = eng.stopped_event.wait(STOP_WAIT_S)
        return {"stopped": done, "state": eng.state}

    def m_rate(self, value: Any = None) -> dict[str, Any]:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise _bad(f"rate: value {value!r} must be an integer 0..10")
        return {"stopped": self.engine.rate(value)}

    def m_set_indicator(self, pattern: str = "idle") -> Any:
        if pattern not in INDICATORS:
            raise _bad(f"set_indicator: pattern {pattern!r}; allowed: {INDICATORS}")
        return self.engine.submit("set_idle_pattern", pattern=pattern)

    def m_events(self, since: Any = 0) -> dict[str, Any]:
        """The recent events after ``since`` (a returning app catches up with these)."""
        _check_seq(since)
        return {"events": self.engine.hub.replay(since), "last_seq": self.engine.hub.last_seq}

    def m_subscribe(self, since: Any = None) -> EngineSubscription:
        """``since``: replay the recent events after this sequence number first."""
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or since < 0
        ):
            raise _bad(f"since = {since!r}: must be a whole number >= 0 (an event seq)")
        hub = self.engine.hub
        q = hub.subscribe(since)
        return EngineSubscription(q, lambda: hub.unsubscribe(q))

    # --- simulator -------------------------------------------------------------------
    def _sim_button(self, button: Any) -> str:
        try:
            self.engine.hw.sim.button_pin(button)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return button

    def m_sim_press(self, button: Any = None) -> dict[str, Any]:
        self.engine.hw.sim.press(self._sim_button(button))
        return {"pressed": button}

    def m_sim_release(self, button: Any = None) -> dict[str, Any]:
        self.engine.hw.sim.release(self._sim_button(button))
        return {"released": button}

    def m_sim_outputs(self) -> dict[str, Any]:
        with self.engine.hw_lock:
            return self.engine.hw.sim.outputs()

    def m_sim_trace(self, since: Any = 0, limit: Any = 1000) -> dict[str, Any]:
        if not isinstance(since, int) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise _bad("sim.trace: since must be an integer, limit 1..100000")
        trace = self.engine.hw.sim.trace
        records = [r.as_dict() for r in trace.since(since, limit=limit)]
        return {"records": records, "last_seq": trace.last_seq()}

    def m_sim_fault(self, device: Any = None, kind: Any = None) -> dict[str, Any]:
        try:
            with self.engine.hw_lock:
                self.engine.hw.sim.inject_fault(device, kind)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return {"device": device, "kind": kind}

    def m_sim_clear_faults(self) -> dict[str, Any]:
        with self.engine.hw_lock:
            self.engine.hw.sim.clear_faults()
        return {"cleared": True}

    def m_sim_bus_transactions(self) -> int:
        return self.engine.hw.sim.bus_transactions()

    def m_sim_stall(self, ms: Any = 0, spin: Any = False) -> dict[str, Any]:
        if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 < ms <= 5000:
            raise _bad(f"sim.stall: ms = {ms!r}; must be a number 0 < ms <= 5000")
        if not isinstance(spin, bool):
            raise _bad(f"sim.stall: spin = {spin!r}; must be true (busy spin) or false (sleep)")
        self.engine.stall_spin = spin
        self.engine.stall_ms = float(ms)
        return {"stall_ms": ms, "spin": spin}
