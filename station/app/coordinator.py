"""The app-side coordinator: the one place where the record, the plan and the engine meet.

Why a separate service: the web views must stay thin and the engine must stay dumb. The
coordinator is what the web layer calls; it builds its collaborators and calls them
explicitly: the ``Planner`` (plan, next program, progression), the ``SessionRecorder``
(engine events -> the record), the ``Arming`` (keeps the next program armed before anyone
presses, so the panel's start works without the page, and the panel's idle LED honest),
the ``SessionControl`` (start, pause, resume, stop, rate: engine first, then the record),
the ``EngineFollower`` (a background thread on the engine's event stream that reconnects
when the engine restarts; sessions the engine lost are marked aborted, sessions it still
plays are followed on), the ``ReminderScheduler`` and the ``Fanout`` to open pages. They
share one ``EngineView``: what the app knows of the engine, including the fault that
stops the station (a device missing from the I2C bus, or a program the engine refused),
which the page shows as a banner while every start is refused naming it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from station.app import calibration, placement, plan_edit
from station.app.arming import Arming
from station.app.audit import audited
from station.app.discrimination import DiscriminationDesk, hide_answers
from station.app.engine_follow import EngineFollower
from station.app.engine_link import (
    EngineLink,
    EngineUnavailable,
)
from station.app.engine_view import EngineView
from station.app.fanout import Fanout, StreamSubscription
from station.app.guided import EndWhy, StepGuide
from station.app.patients import ActivePatient, redacted_for_other_patients
from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.app.reminders import POLL_S, ReminderScheduler
from station.app.session_control import SessionControl
from station.app.simclock import SIM_CLOCK_FILE, SimClock
from station.app.status_text import describe, engine_fields
from station.app.threshold_run import ThresholdRunner
from station.errors import Conflict, NotFound, StationError
from station.protocols import library
from station.storage import Store
from station.storage.db import utc_now

log = logging.getLogger("station.app.coordinator")


class Coordinator:
    """Owns the Store and the engine link; every method is safe from any thread."""

    def __init__(
        self,
        *,
        data_dir: Path,
        simulate: bool,
        config_path: str | Path | None = None,
        store: Store | None = None,
        link: EngineLink | None = None,
        clock: Callable[[], datetime] | SimClock | None = None,
        reminder_poll_s: float = POLL_S,
    ):
        self.data_dir = Path(data_dir)
        # One clock for the whole app: in simulator mode a SimClock (it can jump or run
        # fast, ``sim_clock``), handed to the Store, the planner and the reminders.
        self.sim_clock: SimClock | None = clock if isinstance(clock, SimClock) else None
        if clock is None and store is None and simulate:
            self.sim_clock = SimClock(state=self.data_dir / SIM_CLOCK_FILE)
        now = self.sim_clock.now if self.sim_clock is not None else clock
        assert not isinstance(now, SimClock)
        base = store or Store.open(self.data_dir, clock=now or utc_now)
        self.patients = ActivePatient(base=base)  # who the station works for (app.patients)
        self.store = base.following(self.patients.current)  # that patient's repositories
        self.planner = Planner(
            data_dir=self.data_dir, store=self.store, config_path=config_path, clock=now
        )
        self.link = link or EngineLink(data_dir=self.data_dir)
        self.fanout = Fanout()
        self.engine = EngineView(
            simulate=simulate,
            on_state=lambda state: self.fanout.publish({"event": "state", "state": state}),
        )
        self.recorder = SessionRecorder(store=self.store, planner=self.planner)
        self.reminders = ReminderScheduler(
            store=self.store,
            planner=self.planner,
            on_change=self._on_reminder,
            clock=now,
            poll_s=reminder_poll_s,
        )
        self.arming = Arming(
            store=self.store,
            planner=self.planner,
            link=self.link,
            recorder=self.recorder,
            reminders=self.reminders,
            engine=self.engine,
            publish=self.fanout.publish,
        )
        self.control = SessionControl(
            store=self.store,
            link=self.link,
            planner=self.planner,
            recorder=self.recorder,
            arming=self.arming,
            engine=self.engine,
            publish=self.fanout.publish,
        )
        # Threshold measurements: trials played on the engine (the arming held meanwhile).
        self.thresholds = ThresholdRunner(store=self.store, planner=self.planner, link=self.link,
                                          arming=self.arming, fanout=self.fanout,
                                          simulate=lambda: self.simulate)  # fmt: skip
        self.guided = StepGuide(store=self.store, planner=self.planner, link=self.link,
                                engine=self.engine, publish=self.fanout.publish)  # fmt: skip
        self.discrimination = DiscriminationDesk(store=self.store, planner=self.planner,  # #16
                                                 link=self.link, rearm=lambda: self.rearmed({}))
        self.follower = EngineFollower(
            link=self.link,
            store=self.store,
            recorder=self.recorder,
            reminders=self.reminders,
            arming=self.arming,
            engine=self.engine,
            publish=self.discrimination.publisher(self.guided.publisher(self.fanout.publish)),
        )
        # Files a clinician dropped into <data_dir>/protocols-inbox are imported first,
        # so a protocol copied there is in the library before the plan is compiled.
        self.inbox_report = library.import_drop_folder(self.data_dir, wiring=self.planner.wiring)
        for name, why in self.inbox_report.rejected:
            log.warning("protocols-inbox: %s rejected: %s", name, why)
        if self.simulate:
            self.planner.seed_demo()

    @property
    def simulate(self) -> bool:
        """Simulator mode: as configured, then as the connected engine says."""
        return self.engine.simulate

    # -- lifecycle ----------------------------------------------------------------------

    def start_background(self) -> None:
        """Follow the engine's events and run reminders in threads until ``close()``."""
        self.follower.start()
        self.reminders.start()
        self.recorder.pending.start()  # record writes a full disk refused, retried

    def close(self) -> None:
        """Stop following the engine; a program it plays goes on (the engine owns it)."""
        if self.sim_clock is not None:
            self.sim_clock.save()
        if self.sim_clock is not None and self.sim_clock.rate != 1:
            try:  # the engine outlives this app: back to real-time program playing
                self.link.call("sim.time_scale", {"scale": 1.0}, timeout=1.0)
            except StationError as exc:
                log.warning("sim.time_scale back to 1: %s", exc)
        self.follower.close()
        self.reminders.close()
        self.link.close()
        self.follower.join(timeout=5)
        self.recorder.pending.close()  # a last try before the store closes
        self.store.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_reminder(self, state: dict[str, Any]) -> None:
        self.fanout.publish({"event": "reminder", **state})
        if self.engine.connected:
            self.arming.sync_indicator()

    # -- what the page reads ----------------------------------------------------------------

    @redacted_for_other_patients  # a patient account whose patient is not the active one
    def status(self) -> dict[str, Any]:
        try:
            engine = {**engine_fields(self.link.call("status", timeout=1.0)), "connected": True}
            self.engine.set(engine)
        except EngineUnavailable as exc:
            self.engine.set({"connected": False, "state": "unknown", "error": str(exc)})
            engine = self.engine.snapshot()
        except StationError:
            engine = self.engine.snapshot()
        current = self.store.sessions.current()
        nxt = self.arming.next_info()
        out = describe(
            engine=engine,
            current=current,
            program=self.planner.program_of(current.id) if current is not None else None,
            nxt=nxt,
            simulate=self.simulate,
            fault=self.engine.fault(engine),
            reminder=self.reminders.state,
            indicator=self.arming.indicator(),
        )
        out["sites"] = placement.current_sites(self.planner)  # actuator -> body site
        out.update(self.guided.status_extras(out, current=current, nxt=nxt))  # questions, guide
        out.update(self.discrimination.status_extras(out, current=current))  # never the answer
        return out

    def list_sessions(self, *, limit: int) -> list[dict[str, Any]]:
        return [hide_answers(s.as_dict()) for s in self.store.sessions.latest(limit=limit,
                                                                              played=True)]

    def get_session(self, session_id: int) -> dict[str, Any]:
        return self.discrimination.session_view(self.store.sessions.get(session_id).as_dict())

    def inbox(self) -> dict[str, Any]:
        """The start-up import of ``protocols-inbox`` as the clinician page shows it."""
        rep = self.inbox_report
        return {
            "imported": [
                {"file": name, "id": r.id, "version": r.version, "status": r.status}
                for name, r in rep.imported
            ],
            "rejected": [{"file": name, "message": msg} for name, msg in rep.rejected],
        }

    # -- what the page does (engine first, then the record; see SessionControl) ------------

    def start(self, *, by: str) -> dict[str, Any]:
        if self.thresholds.state().get("measuring"):
            raise Conflict("a threshold measurement is running; finish it or press Stop first")
        self.patients.require_active("starting a session")
        return {**self.control.start(by=by), "status": self.status()}

    def pause(self, *, by: str) -> dict[str, Any]:
        self.patients.require_active("pausing")
        return {**self.control.pause(by=by), "status": self.status()}

    def resume(self, *, by: str) -> dict[str, Any]:
        self.patients.require_active("resuming")
        return {**self.control.resume(by=by), "status": self.status()}

    def reset_estop(self, *, by: str) -> dict[str, Any]:
        return {**self.control.reset_estop(by=by), "status": self.status()}

    def stop(self, *, reason: str, by: str) -> dict[str, Any]:
        self.thresholds.abort(f"{reason} by {by}")  # first: no trial starts after the stop
        with self.patients.as_station():  # stop always wins, whoever asks
            out = self.control.stop(reason=reason, by=by)
        return {**out, "status": self.status()}

    def too_much(self, *, by: str) -> dict[str, Any]:
        return {**self.stop(reason="too_much", by=by), "recorded": "too_much"}

    def rate(self, value: int, *, by: str, pleasantness: int | None = None,
             lingering: bool | None = None, lingering_where: str | None = None,
             ) -> dict[str, Any]:  # fmt: skip
        self.patients.require_active("rating")
        out = self.control.rate(value, by=by, pleasantness=pleasantness, lingering=lingering,
                                lingering_where=lingering_where)  # fmt: skip
        if not out["live"] and not out["stopped"]:
            self.guided.answered(out["id"], by=by)  # a rate step's answer ends the step
        return out

    def end_step(self, index: int, *, why: EndWhy, by: str) -> dict[str, Any]:  # "enough"
        return {**self.guided.end_early(index, why=why, by=by), "status": self.status()}

    def add_journal(self, text: str, *, trigger: str | None, by: str) -> dict[str, Any]:
        return self.store.journal.add(text, trigger, by=by[:200]).as_dict()

    # -- plan, caps, settings (delegated; changes re-arm) -----------------------------------

    @audited("plan")  # who changed what (station.app.audit)
    def assign(self, protocol_id: str, level: str, *, by: str, revision: int | None = None,
               version: str | None = None) -> Any:  # fmt: skip
        return self.rearmed(plan_edit.assign(self.planner, protocol_id, level, by=by,
                                              revision=revision, version=version))  # fmt: skip

    @audited("caps")  # who changed what (station.app.audit)
    def set_caps(self, changes: dict[str, Any], *, by: str, revision: int | None = None) -> Any:
        return self.rearmed(plan_edit.set_caps(self.planner, changes, by=by, revision=revision))

    @audited("sites")  # who changed what (station.app.audit)
    def set_sites(self, sites: dict[str, str | None], *, by: str) -> dict[str, Any]:
        return self.rearmed(placement.set_sites(self.planner, sites, by=by))  # places pads

    @audited("settings")  # who changed what (station.app.audit)
    def update_settings(self, changes: dict[str, Any], *, by: str, revision: int | None = None
                        ) -> Any:  # fmt: skip
        return self.rearmed(plan_edit.update_settings(self.planner, changes, by=by,
                                                       revision=revision))  # fmt: skip

    def rearmed(self, out: dict[str, Any]) -> dict[str, Any]:
        """After a plan change: arm what now comes next, LED and reminders to match."""
        if self.patients.is_other():  # another patient's plan: nothing of theirs is armed
            return out
        self.arming.arm_next(force=True)
        self.arming.sync_indicator()
        self.reminders.check()
        return out

    # -- hardware: haptic auto-calibration (clinician; ``station.app.calibration``) ----------

    def calibration(self) -> dict[str, Any]:
        return self.link.call("calibration")  # the engine's stored results per actuator

    def calibratable(self) -> list[str]:
        return calibration.calibratable(self.planner.wiring)

    def calibrate(self, actuator: Any, *, by: str) -> dict[str, Any]:
        return calibration.calibrate(self.link, self.store, self.planner.wiring, actuator, by=by)

    # -- simulator --------------------------------------------------------------------------

    def sim_press(self, name: str) -> dict[str, Any]:
        self._require_sim()
        self.link.call("sim.press", {"button": name})
        time.sleep(0.05)
        self.link.call("sim.release", {"button": name})
        return {"pressed": name}

    def sim_outputs(self) -> dict[str, Any]:
        self._require_sim()
        return self.link.call("sim.outputs")

    def sim_trace(self, *, since: int, limit: int) -> dict[str, Any]:
        self._require_sim()
        return self.link.call("sim.trace", {"since": since, "limit": limit})

    def sim_clock_state(self) -> dict[str, Any]:
        """The simulated clock: now, its rate and how far it has been moved on."""
        return self._require_clock().as_dict()

    def sim_clock_change(
        self, *, advance_s: float = 0.0, rate: float | None = None
    ) -> dict[str, Any]:
        """Jump the simulated clock forward and/or set its rate. The engine plays programs
        at the same rate (``sim.time_scale``; set first, so a refusal changes nothing);
        then the limits, the armed session, the reminders and the LED follow the new now."""
        clock = self._require_clock()
        if rate is not None:
            self.link.call("sim.time_scale", {"scale": rate})
            clock.set_rate(rate)
        if advance_s:
            clock.advance(advance_s)
        self.reminders.check()
        self.arming.arm_next()
        self.arming.sync_indicator()
        return clock.as_dict()

    def _require_clock(self) -> SimClock:
        self._require_sim()
        if self.sim_clock is None:
            raise NotFound("this station's clock is not simulated (it was given its own clock)")
        return self.sim_clock

    def _require_sim(self) -> None:
        if not self.simulate:
            raise NotFound("the station drives real hardware; there is no simulator")

    # -- events to pages --------------------------------------------------------------------

    def subscribe(self) -> StreamSubscription:
        return self.fanout.subscribe()

    def subscribe_limited(self, *, key: str, limit: int) -> StreamSubscription | None:
        """A page's event stream, at most ``limit`` open per ``key`` (account)."""
        return self.fanout.subscribe_limited(key=key, limit=limit)


__all__ = ["Coordinator"]
