"""Measuring a threshold through the engine: trials, answers, and stop always wins.

Why its own concept: a measurement owns the engine for a minute or two (the ``Arming``
is held, so no session is armed over it), runs its trials in a background thread, and
ends in exactly one of two ways: finished, with its result stored (``store.thresholds``;
a detection threshold also becomes the plan's ``settings.detection_thresholds``), or
aborted, with nothing stored. Each trial is a tiny compiled ``Program``
(``station.thresholds.trial``: a ramped 1 s stimulus, then a silent answer window) armed
and started on the real engine, so the drive passes the same checks, limits, watchdog
and stop paths as every session. Levels come from ``station.thresholds.procedure`` and
never exceed min(device limit, clinician cap, patient's intensity setting).

Answers: the page (``answer``), the panel's rating buttons (up = felt / manageable, down
= not felt / too much, read from the engine's rating events: the direction of the
change), or, on the simulator with ``sim.patient`` enabled, the simulated patient, who
answers from the peak drive the chip really produced. A stop (page, API, panel, e-stop,
fault, watchdog) during a trial or the answer window aborts the measurement: the engine
has already silenced every output, and nothing is stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from station.app.arming import Arming
from station.app.engine_link import EngineLink, EngineRefused
from station.app.fanout import Fanout
from station.app.planner import Planner
from station.errors import Conflict, InvalidInput, NotAllowed, NotFound, StationError
from station.i18n import _
from station.protocols.model import VibrateStep
from station.storage import Store
from station.thresholds.procedure import AscendingSeries, Staircase
from station.thresholds.trial import PROMPTS, trial_program

log = logging.getLogger("station.app.threshold_run")

BY_ANSWER = "threshold measurement: answered"
POLL_S = 0.05  # status polls while a trial plays (the loop shares the CPU)
ANSWER_TIMEOUT_S = 120.0  # no answer for this long: the measurement is abandoned
PLAYING = ("running", "paused")


class _Aborted(Exception):
    pass


class ThresholdRunner:
    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        link: EngineLink,
        arming: Arming,
        fanout: Fanout,
        simulate: Callable[[], bool],
    ):
        self.store = store
        self.planner = planner
        self.link = link
        self.arming = arming
        self.fanout = fanout
        self._simulate = simulate
        self._lock = threading.Lock()  # the flags; held around "not aborted? then start"
        self._wake = threading.Condition(self._lock)
        self._state: dict[str, Any] = {"measuring": False}
        self._aborted: str | None = None
        self._answer: bool | None = None
        self._thread: threading.Thread | None = None
        self._feed = fanout.subscribe()  # the panel's rating presses, drained when needed
        self._panel_value = 0

    # -- what the API asks ----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def overview(self) -> dict[str, Any]:
        """The thresholds in force, the tolerance proposals and the whole history."""
        return {
            "measurement": self.state(),
            "detection": {
                k: t.as_dict() for k, t in self.store.thresholds.latest("detection").items()
            },
            "tolerance": {
                k: t.as_dict() for k, t in self.store.thresholds.latest("tolerance").items()
            },
            "in_settings": dict(self.planner.settings().detection_thresholds),
            "needed": sorted(self.needed_actuators()),
            "actuators": self.haptics(),
            "history": [t.as_dict() for t in self.store.thresholds.history(limit=500)],
        }

    def haptics(self) -> list[str]:
        return sorted(h.name for h in self.planner.wiring.haptic)

    def needed_actuators(self) -> set[str]:
        """The actuators whose intensities the plan writes as a multiple of a threshold."""
        protocol = self.planner.protocol()
        names: set[str] = set()
        for ladder in protocol.ladders if protocol else ():
            for level in ladder.levels:
                for step in level.steps:
                    if isinstance(step, VibrateStep) and step.intensity.times_threshold:
                        names.update(step.actuators)
        return names

    def ceiling(self, actuator: str) -> float:
        """min(device limit, clinician cap, patient's intensity setting) for ``actuator``."""
        base = self.planner.protocol()
        if base is None:
            raise NotAllowed("no plan is assigned: its caps bound a measurement; assign one first")
        caps = self.planner.effective(base).caps
        device = next(h.max_amplitude for h in self.planner.wiring.haptic if h.name == actuator)
        patient = self.planner.settings().intensity_percent / 100
        return min(device, caps.max_intensity_percent / 100, patient)

    def begin(self, actuator: Any, kind: str, *, by: str) -> dict[str, Any]:
        haptics = self.haptics()
        if not isinstance(actuator, str) or actuator not in haptics:
            raise InvalidInput(
                "actuator", actuator, haptics,
                f"actuator = {actuator!r} is not a haptic actuator of this station; "
                f"allowed: {', '.join(haptics)}",
            )  # fmt: skip
        current = self.store.sessions.current()
        if current is not None and current.state in PLAYING:
            raise Conflict(f"session {current.id} is {current.state}; stop it first, then measure")
        ceiling = self.ceiling(actuator)
        first = threshold = self.planner.settings().detection_thresholds.get(actuator)
        try:
            if kind == "detection":
                proc: Staircase | AscendingSeries = Staircase(ceiling=ceiling)
            else:  # the tolerance probe starts where the patient just feels touch
                first = min(threshold, ceiling) if threshold else 0.02
                proc = AscendingSeries(ceiling=ceiling, start=first)
        except ValueError:
            raise NotAllowed(
                f"the limits allow at most {ceiling:.3f} of full scale on {actuator}, too weak "
                "to measure; raise the patient's intensity setting or the cap first"
            ) from None
        with self._lock:
            if self._state.get("measuring"):
                raise Conflict(
                    f"a {self._state['kind']} measurement of {self._state['actuator']} is "
                    "running; answer it or press Stop first"
                )
            auto = self._sim_patient_answers(actuator, kind)
            self._aborted, self._answer = None, None
            self._state = {
                "measuring": True, "actuator": actuator, "kind": kind, "by": by,
                "phase": "stimulus", "trial": 0, "level": None, "ceiling": round(ceiling, 6),
                "prompt": _(PROMPTS[kind]),
                "answered_by": "simulated patient" if auto else "patient",
                "method": proc.method, "result": None, "message": "starting",
            }  # fmt: skip
            self.arming.held_by = f"{kind} measurement of {actuator}"
            self._thread = threading.Thread(
                target=self._run, args=(proc, actuator, kind, by, auto),
                name="threshold-run", daemon=True,
            )  # fmt: skip
            self._thread.start()
            return dict(self._state)

    def answer(self, *, felt: bool | None, manageable: bool | None, by: str) -> dict[str, Any]:
        with self._lock:
            st = self._state
            if not st.get("measuring"):
                raise Conflict("no threshold measurement is running; start one first")
            field, value = (
                ("felt", felt) if st["kind"] == "detection" else ("manageable", manageable)
            )
            if value is None:
                raise InvalidInput(
                    field, None, "true or false",
                    f"a {st['kind']} measurement asks '{st['prompt']}': send {field}: "
                    "true or false",
                )  # fmt: skip
            if st["phase"] != "answer":
                raise Conflict("the stimulus is still playing; answer when it has ended")
            self._answer = bool(value)
            self._wake.notify_all()
            return {**st, "answer": bool(value)}

    def abort(self, reason: str) -> bool:
        """A stop: the measurement ends and stores nothing. The caller stops the engine
        (after this returns no new trial can start). True when one was running."""
        with self._lock:
            if not self._state.get("measuring"):
                return False
            self._aborted = self._aborted or reason
            self._wake.notify_all()
            return True

    def wait(self, timeout: float) -> bool:
        """For tests and the CLI: True when no measurement runs (any more)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.state().get("measuring")

    def sim_patient(self, config: dict[str, Any] | None) -> dict[str, Any]:
        """The simulated patient's settings (simulator only); ``config`` None: read."""
        if not self._simulate():
            raise NotFound("the station drives real hardware; there is no simulated patient")
        if config is None:
            return dict(self.link.call("sim.patient_state"))
        try:
            return dict(self.link.call("sim.patient", config))
        except EngineRefused as exc:
            if exc.code == "bad_params":
                raise InvalidInput("thresholds", config.get("thresholds"), self.haptics(),
                                   str(exc)) from None  # fmt: skip
            raise

    # -- the measurement thread -------------------------------------------------------------

    def _sim_patient_answers(self, actuator: str, kind: str) -> bool:
        if not self._simulate():
            return False
        try:
            st = self.link.call("sim.patient_state", timeout=1.0) or {}
        except StationError:
            return False
        key = "thresholds" if kind == "detection" else "tolerances"
        return bool(st.get("enabled")) and actuator in (st.get(key) or {})

    def _run(self, proc: Any, actuator: str, kind: str, by: str, auto: bool) -> None:
        stored: dict[str, Any] | None = None
        message = ""
        try:
            self._drain_panel(answering=False)
            while not proc.finished:
                level = proc.next_level()
                answer = self._trial(proc, actuator, kind, level, auto)
                if kind == "detection":
                    proc.record(felt=answer)
                else:
                    proc.record(manageable=answer)
            stored, message = self._store(proc, actuator, kind, by, auto)
        except _Aborted as exc:
            message = f"stopped: {exc}; nothing was stored"
            log.info("threshold measurement of %s aborted: %s", actuator, exc)
        except Exception as exc:  # the thread ends the measurement whatever happens
            log.exception("threshold measurement of %s", actuator)
            message = f"the measurement failed: {exc}; nothing was stored"
        finally:
            self._silence_quiet()
            with self._lock:
                aborted = self._aborted
                self._state = {
                    **self._state, "measuring": False,
                    "phase": "aborted" if aborted or not stored else "finished",
                    "result": stored, "message": message,
                }  # fmt: skip
                self.arming.held_by = None
            try:
                self.arming.arm_next(force=True)
                self.arming.sync_indicator()
            except Exception:
                log.exception("arming after the threshold measurement")
            self.fanout.publish({"event": "threshold", **self.state()})

    def _check(self) -> None:
        if self._aborted:
            raise _Aborted(self._aborted)

    def _trial(self, proc: Any, actuator: str, kind: str, level: float, auto: bool) -> bool:
        trial = len(proc.trials) + 1
        program = trial_program(actuator=actuator, level=level, ceiling=proc.ceiling,
                                kind=kind, trial=trial)  # fmt: skip
        with self._lock:  # abort() waits for this: no trial starts after a stop
            self._check()
            self._answer = None
            self._state.update(phase="stimulus", trial=trial, level=round(level, 6),
                               message=f"trial {trial}: {PROMPTS[kind]}")  # fmt: skip
            if auto:
                self.link.call("sim.patient_begin", {"actuator": actuator})
            try:
                self.link.call("arm", {"program": program.model_dump(mode="json"),
                                       "session_id": None})  # fmt: skip
                self.link.call("start", {})
            except EngineRefused as exc:  # a stop (watchdog, e-stop, ...) came in between
                stop = (self.link.call("status", timeout=1.0) or {}).get("last_stop") or {}
                raise _Aborted(f"the engine refused the trial ({exc}; last stop: "
                               f"{stop.get('reason')}, by {stop.get('by')})") from None  # fmt: skip
        self.fanout.publish({"event": "threshold", **self.state()})
        self._until(lambda st: st.get("step") == 1 and st.get("state") in PLAYING)
        with self._lock:
            self._check()
            self._state["phase"] = "answer"
        self.fanout.publish({"event": "threshold", **self.state()})
        if auto:
            got = self.link.call("sim.patient_answer", {"actuator": actuator})
            answer = bool(got["felt" if kind == "detection" else "manageable"])
        else:
            answer = self._await_answer()
        with self._lock:
            self._check()
            self._state["phase"] = "stimulus"
            self.link.call("stop", {"reason": "user", "by": BY_ANSWER})
        return answer

    def _engine(self) -> dict[str, Any]:
        st = self.link.call("status", timeout=1.0) or {}
        if st.get("state") not in PLAYING:
            stop = st.get("last_stop") or {}
            if stop.get("reason") == "completed":
                raise _Aborted(f"no answer within the {ANSWER_TIMEOUT_S:.0f} s answer window")
            raise _Aborted(
                f"the engine stopped ({stop.get('reason') or st.get('state')}"
                f"{', by ' + str(stop['by']) if stop.get('by') else ''})"
            )
        return st

    def _until(self, done: Callable[[dict[str, Any]], bool]) -> None:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            self._check()
            if done(self._engine()):
                return
            with self._lock:
                self._wake.wait(POLL_S)
        raise _Aborted("the trial did not play in time")

    def _await_answer(self) -> bool:
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            with self._lock:
                self._check()
                if self._answer is not None:
                    return self._answer
            self._drain_panel(answering=True)
            self._engine()  # a stop on the panel (or anywhere) ends the measurement
            with self._lock:
                if self._answer is None and not self._aborted:
                    self._wake.wait(5 * POLL_S)
        raise _Aborted(f"no answer within {ANSWER_TIMEOUT_S:.0f} s")

    def _drain_panel(self, *, answering: bool) -> None:
        """The panel's rating presses: up (value rises, or stays at 10) answers yes, down
        (value falls, or stays at 0) answers no. Confirm presses are not answers."""
        while True:
            try:
                ev = self._feed.get(timeout=0)
            except Exception:  # queue.Empty
                return
            if ev.get("event") == "started" and ev.get("by") == "panel":
                self._panel_value = 0  # the panel's rating restarts at 0 with a session
            if ev.get("event") != "rating" or ev.get("by") != "panel" or ev.get("confirmed"):
                continue
            value, before = int(ev.get("value") or 0), self._panel_value
            self._panel_value = value
            up = value > before or (value == before == 10)
            down = value < before or (value == before == 0)
            if answering and (up or down):
                with self._lock:
                    if self._answer is None:
                        self._answer = up
                return

    def _silence_quiet(self) -> None:
        try:
            st = self.link.call("status", timeout=1.0) or {}
            if st.get("state") in PLAYING:
                self.link.call("stop", {"reason": "user", "by": "threshold measurement ended"})
            if st.get("state") in ("armed",) and st.get("session_id") is None:
                self.link.call("disarm")
        except StationError as exc:
            log.warning("silencing after the threshold measurement: %s", exc)

    def _store(
        self, proc: Any, actuator: str, kind: str, by: str, auto: bool
    ) -> tuple[dict[str, Any] | None, str]:
        value = proc.result()
        detail = {**proc.detail(), "answered_by": "simulated patient" if auto else "patient",
                  "simulated": bool(self._simulate())}  # fmt: skip
        with self._lock:
            self._check()  # a stop that came with the last answer still wins
        if value is None:
            why = {
                "above_ceiling": "not felt even at the highest level the limits allow",
                "too_many_trials": "no stable threshold within the trial limit",
            }.get(proc.outcome, "no level was manageable")
            return None, f"no result ({proc.outcome}): {why}; nothing was stored"
        row = self.store.thresholds.add(
            actuator=actuator, kind=kind, value=round(value, 6), method=proc.method,
            trials=len(proc.trials), detail=detail, by=by,
        )  # fmt: skip
        what = "detection threshold" if kind == "detection" else "proposed starting level"
        return row.as_dict(), f"{what} of {actuator}: {value:.3f} of full scale"
