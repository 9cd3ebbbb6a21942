"""The IPC methods: each registered once (name, parameters' model, handler), validated by
the registry, then handed to the engine's loop thread.

Methods (params -> result):
* ``status`` -> ``EngineStatus`` (``station.engine.messages``)
* ``arm`` {program: Program JSON, session_id: str|int|null} -> {state, session_id}
* ``disarm``, ``start`` {session_id?}, ``pause``, ``resume``, ``reset_estop`` -> {state, ...}
* ``stop`` {reason: "user"|"too_much" (default "user"; "api" is accepted for "user"),
  by?} -> {stopped: true, state} (returns once the loop has silenced every output, or
  after 1 s with stopped=false)
* ``rate`` {value: 0..10} -> {stopped: bool}
* ``end_step`` {index, reason: "answered"|"enough", by?} -> {ended, kind, reason, by,
  skipped_ms, state}: the playing manual or rate step ends now (``station.engine.step_end``)
* ``calibrate`` {actuator} -> the stored auto-calibration values (takes ~1.1 s; refused
  while a session plays or is paused, for a brush or an unknown name)
* ``calibration`` -> {actuators: {name: {actuator_kind, stored, pinned_in_wiring}}, file}
* ``set_indicator`` {pattern: "idle"|"due"|"limit"} -> the idle LED pattern
* ``events`` {since=0} -> {events, last_seq}; ``subscribe`` {since?} -> the connection
  becomes the event stream
* simulator only: ``sim.press`` / ``sim.release`` {button}, ``sim.outputs``,
  ``sim.trace`` {since=0, limit=1000}, ``sim.fault`` {device, kind}, ``sim.clear_faults``,
  ``sim.bus_transactions``, ``sim.stall`` {ms, spin=false} (stalls one tick by a sleep or
  a busy spin: watchdog tests), ``sim.time_scale`` {scale: 1..1000} (program time runs
  that many times faster from the next start or resume, following the app's simulated
  clock; above 1 the engine pauses itself at each rate step for the patient's answer).
* simulator only: ``sim.patient`` {enabled, thresholds, tolerances, noise, seed},
  ``sim.patient_state``, ``sim.patient_begin`` / ``sim.patient_answer`` {actuator}: the
  simulated patient (``hardware.sim.patient``) who answers threshold trials.
"""

from __future__ import annotations

from typing import Any

from station.engine import params as p
from station.engine.calibrate import run_calibration, stored
from station.engine.core import Engine
from station.engine.ipc import EngineSubscription
from station.engine.registry import Registry
from station.errors import EngineError
from station.vocab import stop_reason

STOP_WAIT_S = 1.0


class EngineService:
    """The engine's IPC surface: ``EngineService(engine=...)(method, params)``."""

    def __init__(self, *, engine: Engine) -> None:
        self.engine = engine
        self.registry = r = Registry(simulated=engine.hw.sim is not None)
        r.register("status", p.NoParams, lambda _: engine.status())
        r.register("arm", p.Arm, self.arm)
        r.register("disarm", p.NoParams, lambda _: engine.submit("disarm"))
        r.register("start", p.Start, lambda q: engine.submit("start", session_id=q.session_id,
                                                               by=q.by))
        r.register("pause", p.NoParams, lambda _: engine.submit("pause"))
        r.register("resume", p.NoParams, lambda _: engine.submit("resume"))
        r.register("reset_estop", p.NoParams, lambda _: engine.submit("reset_estop"))
        r.register("stop", p.Stop, self.stop)
        r.register("rate", p.Rate, lambda q: {"stopped": engine.rate(q.value)})
        r.register("end_step", p.EndStep, lambda q: engine.submit(
            "end_step", index=q.index, reason=q.reason, by=q.by))  # fmt: skip
        r.register("calibrate", p.Calibrate, lambda q: run_calibration(engine, q.actuator))
        r.register("calibration", p.NoParams, lambda _: stored(engine))
        r.register("set_indicator", p.SetIndicator,
                   lambda q: engine.submit("set_idle_pattern", pattern=q.pattern))  # fmt: skip
        r.register("events", p.Events, self.events)
        r.register("subscribe", p.Subscribe, self.subscribe)
        sim = {"sim_only": True}
        r.register("sim.press", p.SimButton, self.sim_press, **sim)
        r.register("sim.release", p.SimButton, self.sim_release, **sim)
        r.register("sim.outputs", p.NoParams, self.sim_outputs, **sim)
        r.register("sim.trace", p.SimTrace, self.sim_trace, **sim)
        r.register("sim.fault", p.SimFault, self.sim_fault, **sim)
        r.register("sim.clear_faults", p.NoParams, self.sim_clear_faults, **sim)
        r.register("sim.bus_transactions", p.NoParams,
                   lambda _: engine.hw.sim.bus_transactions(), **sim)  # fmt: skip
        r.register("sim.stall", p.SimStall, self.sim_stall, **sim)
        r.register("sim.time_scale", p.SimTimeScale, self.sim_time_scale, **sim)
        r.register("sim.patient", p.SimPatient, self.sim_patient, **sim)
        r.register("sim.patient_state", p.NoParams,
                   lambda _: engine.hw.sim.patient.state(), **sim)  # fmt: skip
        r.register("sim.patient_begin", p.SimPatientTrial, self.sim_patient_begin, **sim)
        r.register("sim.patient_answer", p.SimPatientTrial, self.sim_patient_answer, **sim)

    def __call__(self, method: str, params: dict[str, Any]) -> Any:
        return self.registry(method, params)

    # --- control ---------------------------------------------------------------------
    def arm(self, q: p.Arm) -> Any:
        return self.engine.submit("arm", program=q.program, session_id=q.session_id)

    def stop(self, q: p.Stop) -> dict[str, Any]:
        eng = self.engine
        eng.request_stop(stop_reason(q.reason), by=q.by)
        done = eng.stopped_event.wait(STOP_WAIT_S)
        return {"stopped": done, "state": eng.state}

    def events(self, q: p.Events) -> dict[str, Any]:
        """The recent events after ``since`` (a returning app catches up with these)."""
        return {"events": self.engine.hub.replay(q.since), "last_seq": self.engine.hub.last_seq}

    def subscribe(self, q: p.Subscribe) -> EngineSubscription:
        """``since``: replay the recent events after this sequence number first."""
        hub = self.engine.hub
        sub = hub.subscribe(q.since)
        return EngineSubscription(sub, lambda: hub.unsubscribe(sub))

    # --- simulator -------------------------------------------------------------------
    def _sim_button(self, button: str) -> str:
        try:
            self.engine.hw.sim.button_pin(button)
        except ValueError as exc:
            raise EngineError("bad_params", str(exc)) from None
        return button

    def sim_press(self, q: p.SimButton) -> dict[str, Any]:
        self.engine.hw.sim.press(self._sim_button(q.button))
        return {"pressed": q.button}

    def sim_release(self, q: p.SimButton) -> dict[str, Any]:
        self.engine.hw.sim.release(self._sim_button(q.button))
        return {"released": q.button}

    def sim_outputs(self, _: p.NoParams) -> dict[str, Any]:
        with self.engine.hw_lock:
            out: dict[str, Any] = self.engine.hw.sim.outputs()
            return out

    def sim_trace(self, q: p.SimTrace) -> dict[str, Any]:
        trace = self.engine.hw.sim.trace
        records = [r.as_dict() for r in trace.since(q.since, limit=q.limit)]
        return {"records": records, "last_seq": trace.last_seq()}

    def sim_fault(self, q: p.SimFault) -> dict[str, Any]:
        try:
            with self.engine.hw_lock:
                self.engine.hw.sim.inject_fault(q.device, q.kind)
        except ValueError as exc:
            raise EngineError("bad_params", str(exc)) from None
        return {"device": q.device, "kind": q.kind}

    def sim_clear_faults(self, _: p.NoParams) -> dict[str, Any]:
        with self.engine.hw_lock:
            self.engine.hw.sim.clear_faults()
        return {"cleared": True}

    def sim_stall(self, q: p.SimStall) -> dict[str, Any]:
        self.engine.stall_spin = q.spin
        self.engine.stall_ms = q.ms
        return {"stall_ms": q.ms, "spin": q.spin}

    def sim_time_scale(self, q: p.SimTimeScale) -> dict[str, Any]:
        self.engine.time_scale = q.scale
        return {"time_scale": q.scale}

    def sim_patient(self, q: p.SimPatient) -> dict[str, Any]:
        """The simulated patient (``hardware.sim.patient``): hidden thresholds, noise."""
        try:
            state: dict[str, Any] = self.engine.hw.sim.patient.configure(
                enabled=q.enabled, thresholds=q.thresholds, tolerances=q.tolerances,
                noise=q.noise, seed=q.seed)  # fmt: skip
        except ValueError as exc:
            raise EngineError("bad_params", str(exc)) from None
        return state

    def sim_patient_begin(self, q: p.SimPatientTrial) -> dict[str, Any]:
        try:
            self.engine.hw.sim.patient.begin(q.actuator)
        except ValueError as exc:
            raise EngineError("bad_params", str(exc)) from None
        return {"actuator": q.actuator}

    def sim_patient_answer(self, q: p.SimPatientTrial) -> dict[str, Any]:
        try:
            out: dict[str, Any] = self.engine.hw.sim.patient.answer(q.actuator)
        except ValueError as exc:
            raise EngineError("bad_params", str(exc)) from None
        return out
