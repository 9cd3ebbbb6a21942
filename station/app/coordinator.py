"""The app-side coordinator: the one place where the record, the plan and the engine meet.

Why a separate service: the web views must stay thin and the engine must stay dumb. The
coordinator keeps the next program armed before anyone presses a button (so the panel's
start works without the page), refuses starts the protocol's limits forbid and says when
the next one is allowed, hands engine events to the recorder (``station.app.recorder``),
passes a live rating at or above the stop threshold straight to the engine, and keeps the
panel's idle LED honest (``due`` at a reminder, ``limit`` when the limits refuse a start).
A background thread follows the engine's event stream and reconnects when the engine
restarts; sessions the engine lost are marked aborted, sessions it still plays (the app
restarted) are followed on (``station.app.engine_follow``; the page's start/stop/rate actions
are in ``station.app.session_control``). A device fault (e.g. a driver missing from the I2C bus) is
kept and shown, and every start is refused naming the device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from station.app.catchup import EventCursor
from station.app.engine_follow import EngineFollower
from station.app.engine_link import (
    CALIBRATE_TIMEOUT_S,
    EngineLink,
    EngineRefused,
    EngineUnavailable,
)
from station.app.fanout import Fanout, StreamSubscription
from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.app.reminders import POLL_S, ReminderScheduler
from station.app.session_control import SessionControl
from station.app.status_text import LIVE_ENGINE_STATES, describe, engine_fields
from station.errors import Conflict, InvalidInput, NotFound, StationError
from station.protocols import library
from station.storage import Store

log = logging.getLogger("station.app.coordinator")

NEXT_CACHE_S = 1.0


class Coordinator(SessionControl, EngineFollower):
    """Owns the Store and the engine link; every method is safe from any thread."""

    def __init__(
        self,
        *,
        data_dir: Path,
        simulate: bool,
        config_path: str | Path | None = None,
        store: Store | None = None,
        link: EngineLink | None = None,
        clock: Callable[[], datetime] | None = None,
        reminder_poll_s: float = POLL_S,
    ):
        self.data_dir = Path(data_dir)
        self.simulate = simulate
        self.store = store or Store.open(self.data_dir)
        self.planner = Planner(
            data_dir=self.data_dir, store=self.store, config_path=config_path, clock=clock
        )
        self.link = link or EngineLink(data_dir=self.data_dir)
        self.recorder = SessionRecorder(store=self.store, planner=self.planner)
        self.fanout = Fanout()
        self.reminders = ReminderScheduler(
            store=self.store,
            planner=self.planner,
            on_change=self._on_reminder,
            clock=clock,
            poll_s=reminder_poll_s,
        )
        self._lock = threading.RLock()
        # Held while a request writes the record around an engine call, so the event
        # thread's report of the same stop lands after it (and is then ignored).
        self._record = threading.RLock()
        self._engine: dict[str, Any] = {"connected": False, "state": "unknown"}
        self._arm_fault: dict[str, Any] | None = None
        self._indicator: str | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._linked = threading.Event()  # set once reconciled with a connected engine
        self._cursor = EventCursor()  # what of the engine's events this app has handled
        self._next_check = 0.0
        self._next_cache: tuple[float, dict[str, Any] | None] | None = None
        # Files a clinician dropped into <data_dir>/protocols-inbox are imported first,
        # so a protocol copied there is in the library before the plan is compiled.
        self.inbox_report = library.import_drop_folder(self.data_dir, wiring=self.planner.wiring)
        for name, why in self.inbox_report.rejected:
            log.warning("protocols-inbox: %s rejected: %s", name, why)
        if self.simulate:
            self.planner.seed_demo()

    # -- lifecycle ----------------------------------------------------------------------

    def start_background(self) -> None:
        """Follow the engine's events and run reminders in threads until ``close()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engine-events", daemon=True)
            self._thread.start()
            self.reminders.start()

    def close(self) -> None:
        """Stop following the engine; a program it plays goes on (the engine owns it)."""
        self._closing.set()
        self.reminders.close()
        self.link.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- arming and the panel's idle LED ----------------------------------------------------

    def arm_next(self, *, force: bool = False) -> None:
        """Make sure the next program is armed in the engine, if the limits allow."""
        self._invalidate()
        with self._lock:
            if not self._engine.get("connected"):
                return
            current = self.store.current_session()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                return
            if current is not None and not force and self._engine.get("session_id") == current.id:
                return
            plan = self.planner.next_program()
            if plan is None or not plan["allowed"]:
                if current is not None:
                    self.recorder.final(
                        current.id,
                        "stopped",
                        "disarmed: " + (plan["message"] if plan else "no plan"),
                        "system",
                    )
                    self._call_quiet("disarm")
                return
            sid = self.planner.create_session(plan)
            try:
                self.link.call(
                    "arm", {"program": plan["program"].model_dump(mode="json"), "session_id": sid}
                )
            except StationError as exc:
                self.recorder.final(sid, "stopped", f"the engine refused to arm: {exc}", "engine")
                log.warning("arming session %s: %s", sid, exc)
                self._note_arm_failure(exc)
                return
            self._arm_fault = None
            self._engine["session_id"] = sid
        self._publish({"event": "session", "session_id": sid, "state": "armed"})

    def _note_arm_failure(self, exc: StationError) -> None:
        """Keep the device fault the engine reported (start_all failed) for the banner."""
        try:
            fault = (self.link.call("status", timeout=1.0) or {}).get("fault")
        except StationError:
            fault = None
        if fault or (isinstance(exc, EngineRefused) and exc.code not in ("busy", "estop")):
            self._arm_fault = fault or {"device": None, "message": str(exc)}

    def sync_indicator(self) -> None:
        """Tell the engine which idle pattern the panel's LED shows: ``limit`` when the
        limits refuse a start (a press does nothing), ``due`` at a reminder, else idle."""
        want = self.indicator()
        if want != self._indicator:
            try:
                self.link.call("set_indicator", {"pattern": want})
                self._indicator = want
            except StationError as exc:
                log.warning("set_indicator %s: %s", want, exc)

    def indicator(self) -> str:
        nxt = self.next_info()
        current = self.store.current_session()
        if (
            current is None
            and nxt is not None
            and nxt.get("allowed") is False
            and "error" not in nxt
        ):
            return "limit"
        if self.reminders.state["due"]:
            return "due"
        return "idle"

    def _on_reminder(self, state: dict[str, Any]) -> None:
        self._publish({"event": "reminder", **state})
        if self._engine.get("connected"):
            self.sync_indicator()

    # -- what the page reads ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        try:
            engine = {**engine_fields(self.link.call("status", timeout=1.0)), "connected": True}
            self._set_engine(engine)
        except EngineUnavailable as exc:
            self._set_engine({"connected": False, "state": "unknown", "error": str(exc)})
            engine = dict(self._engine)
        except StationError:
            engine = dict(self._engine)
        current = self.store.current_session()
        return describe(
            engine=engine,
            current=current,
            program=self.planner.program_of(current.id) if current is not None else None,
            nxt=self.next_info(),
            simulate=self.simulate,
            fault=self.fault(engine),
            reminder=self.reminders.state,
            indicator=self.indicator(),
        )

    def fault(self, engine: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The device fault that stops the station: live from the engine, or the one that
        made the last arm fail."""
        engine = engine if engine is not None else self._engine
        live = engine.get("fault") if engine.get("state") == "fault" else None
        return live or self._arm_fault

    def next_info(self) -> dict[str, Any] | None:
        """The next session as the page shows it (cached briefly: compiling is not free)."""
        with self._lock:
            if self._next_cache and time.monotonic() - self._next_cache[0] < NEXT_CACHE_S:
                return self._next_cache[1]
        try:
            nxt = self.planner.next_program()
        except StationError as exc:
            nxt = {"error": str(exc), "allowed": False, "message": f"The plan cannot run: {exc}"}
        with self._lock:
            self._next_cache = (time.monotonic(), nxt)
        return nxt

    def _invalidate(self) -> None:
        with self._lock:
            self._next_cache = None

    def list_sessions(self, *, limit: int) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.store.list_sessions(limit=limit)]

    def get_session(self, session_id: int) -> dict[str, Any]:
        return self.store.get_session(session_id).as_dict()

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

    # -- plan, caps, settings (delegated; changes re-arm) -----------------------------------

    def assign(self, protocol_id: str, level: str, *, by: str) -> dict[str, Any]:
        out = self.planner.assign(protocol_id, level, by=by)
        self.arm_next(force=True)
        self.sync_indicator()
        return out

    def set_caps(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.set_caps(changes, by=by)
        self.arm_next(force=True)
        self.sync_indicator()
        return out

    def update_settings(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.update_settings(changes, by=by)
        self.arm_next(force=True)
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
        current = self.store.current_session()
        if current is not None and current.state in ("running", "paused"):
            raise Conflict(
                f"session {current.id} is {current.state}; stop it first, then calibrate {actuator}"
            )
        try:
            result = self.link.call_alone(
                "calibrate", {"actuator": actuator}, timeout=CALIBRATE_TIMEOUT_S
            )
        except EngineUnavailable:
            raise
        except StationError as exc:
            code = getattr(exc, "code", "")
            if code in ("unknown_actuator", "not_haptic", "bad_params", "open_loop"):
                raise InvalidInput("actuator", actuator, haptics, str(exc)) from None
            raise EngineRefused("calibrate", code or "refused", str(exc)) from None
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

    def _require_sim(self) -> None:
        if not self.simulate:
            raise NotFound("the station drives real hardware; there is no simulator")

    # -- events to pages --------------------------------------------------------------------

    def subscribe(self) -> StreamSubscription:
        return self.fanout.subscribe()

    def _publish(self, event: dict[str, Any]) -> None:
        self.fanout.publish(event)


__all__ = ["Coordinator", "EngineUnavailable", "InvalidInput", "StreamSubscription"]
