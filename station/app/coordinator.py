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

from station.app.arming import Arming
from station.app.engine_follow import EngineFollower
from station.app.engine_link import (
    CALIBRATE_TIMEOUT_S,
    EngineLink,
    EngineRefused,
    EngineUnavailable,
)
from station.app.engine_view import EngineView
from station.app.fanout import Fanout, StreamSubscription
from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.app.reminders import POLL_S, ReminderScheduler
from station.app.session_control import SessionControl
from station.app.simclock import SIM_CLOCK_FILE, SimClock
from station.app.status_text import describe, engine_fields
from station.errors import Conflict, InvalidInput, NotFound, StationError
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
        self.store = store or Store.open(self.data_dir, clock=now or utc_now)
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
        self.follower = EngineFollower(
            link=self.link,
            store=self.store,
            recorder=self.recorder,
            reminders=self.reminders,
            arming=self.arming,
            engine=self.engine,
            publish=self.fanout.publish,
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
        return describe(
            engine=engine,
            current=current,
            program=self.planner.program_of(current.id) if current is not None else None,
            nxt=self.arming.next_info(),
            simulate=self.simulate,
            fault=self.engine.fault(engine),
            reminder=self.reminders.state,
            indicator=self.arming.indicator(),
        )

    def list_sessions(self, *, limit: int) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.store.sessions.latest(limit=limit)]

    def get_session(self, session_id: int) -> dict[str, Any]:
        return self.store.sessions.get(session_id).as_dict()

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
        return {**self.control.start(by=by), "status": self.status()}

    def pause(self, *, by: str) -> dict[str, Any]:
        return {**self.control.pause(by=by), "status": self.status()}

    def resume(self, *, by: str) -> dict[str, Any]:
        return {**self.control.resume(by=by), "status": self.status()}

    def reset_estop(self, *, by: str) -> dict[str, Any]:
        return {**self.control.reset_estop(by=by), "status": self.status()}

    def stop(self, *, reason: str, by: str) -> dict[str, Any]:
        return {**self.control.stop(reason=reason, by=by), "status": self.status()}

    def too_much(self, *, by: str) -> dict[str, Any]:
        return {**self.stop(reason="too_much", by=by), "recorded": "too_much"}

    def rate(
        self,
        value: int,
        *,
        by: str,
        pleasantness: int | None = None,
        lingering: bool | None = None,
        lingering_where: str | None = None,
    ) -> dict[str, Any]:
        return self.control.rate(
            value,
            by=by,
            pleasantness=pleasantness,
            lingering=lingering,
            lingering_where=lingering_where,
        )

    def add_journal(self, text: str, *, trigger: str | None, by: str) -> dict[str, Any]:
        return self.store.journal.add(text, trigger).as_dict()

    # -- plan, caps, settings (delegated; changes re-arm) -----------------------------------

    def assign(self, protocol_id: str, level: str, *, by: str) -> dict[str, Any]:
        out = self.planner.assign(protocol_id, level, by=by)
        self.arming.arm_next(force=True)
        self.arming.sync_indicator()
        return out

    def set_caps(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.set_caps(changes, by=by)
        self.arming.arm_next(force=True)
        self.arming.sync_indicator()
        return out

    def update_settings(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.update_settings(changes, by=by)
        self.arming.arm_next(force=True)
        self.reminders.check()
        return out

    # -- hardware: haptic auto-calibration (clinician) -------------------------------------

    def calibration(self) -> dict[str, Any]:
        """The engine's stored calibration per haptic actuator."""
        return self.link.call("calibration")

    def calibratable(self) -> list[str]:
        """The actuators auto-calibration is for: the LRAs. They run closed loop, where
        the results are used; the ERMs run open loop (full scale = OD_CLAMP), where they
        are not (hardware/README.md, "The drive that reaches the skin")."""
        return sorted(h.name for h in self.planner.wiring.haptic if h.actuator == "lra")

    def calibrate(self, actuator: Any, *, by: str) -> dict[str, Any]:
        """DRV2605L auto-calibration of one haptic actuator, run by the engine (~1.1 s).
        Refused for a brush or an unknown name (``InvalidInput`` naming the allowed
        ones) and while a session is running or paused (``Conflict`` naming it)."""
        wiring = self.planner.wiring
        haptics = self.calibratable()
        if not isinstance(actuator, str) or actuator not in haptics:
            brushes = {b.name for b in wiring.brush}
            erms = {h.name for h in wiring.haptic if h.actuator == "erm"}
            why = (
                "is a brush; auto-calibration is for the haptic actuators (DRV2605L)"
                if isinstance(actuator, str) and actuator in brushes
                else "is an ERM, run in open loop: there is nothing to calibrate"
                if isinstance(actuator, str) and actuator in erms
                else "is not a haptic actuator of this station"
            )
            raise InvalidInput(
                "actuator",
                actuator,
                haptics,
                f"actuator = {actuator!r} {why}; allowed: {', '.join(haptics)}",
            )
        current = self.store.sessions.current()
        if current is not None and current.state in ("running", "paused"):
            raise Conflict(
                f"session {current.id} is {current.state}; stop it first, then calibrate {actuator}"
            )
        try:
            result = self.link.call_alone(
                "calibrate", {"actuator": actuator}, timeout=CALIBRATE_TIMEOUT_S
            )
        except EngineRefused as exc:
            if exc.code in ("unknown_actuator", "not_haptic", "bad_params", "open_loop"):
                raise InvalidInput("actuator", actuator, haptics, str(exc)) from None
            raise
        log.info("haptic %s calibrated by %s: %s", actuator, by, result)
        return result

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


__all__ = ["Coordinator"]
