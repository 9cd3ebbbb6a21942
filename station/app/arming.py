"""Keeping the next program armed, and the panel's idle LED honest.

Why its own concept: the station must be ready before anyone presses (so the panel's
start works without the page), and every path that changes the plan, ends a session or
reconnects to the engine asks for the same thing: "arm what comes next, if the limits
allow". It also decides the idle LED (``limit`` when the limits refuse a start, ``due`` at
a reminder) and keeps a refusal from the engine as the station's fault, so the page shows
the banner (``EngineView.fault``) instead of a station that silently never starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from station.app.engine_link import EngineLink, EngineRefused
from station.app.engine_view import TRANSIENT_REFUSALS, EngineView
from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.app.reminders import ReminderScheduler
from station.app.status_text import LIVE_ENGINE_STATES
from station.errors import StationError
from station.storage import Store

log = logging.getLogger("station.app.arming")

NEXT_CACHE_S = 1.0


class Arming:
    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        link: EngineLink,
        recorder: SessionRecorder,
        reminders: ReminderScheduler,
        engine: EngineView,
        publish: Callable[[dict[str, Any]], None],
    ):
        self.store = store
        self.planner = planner
        self.link = link
        self.recorder = recorder
        self.reminders = reminders
        self.engine = engine
        self._publish = publish
        self._lock = threading.RLock()
        self._next_cache: tuple[float, dict[str, Any] | None] | None = None
        # Set while something else owns the engine (a threshold measurement,
        # ``station.app.threshold_run``): nothing is armed over it until it is released.
        self.held_by: str | None = None

    def arm_next(self, *, force: bool = False) -> None:
        """Make sure the next program is armed in the engine, if the limits allow."""
        self.invalidate()
        with self._lock:
            if not self.engine.connected or self.held_by is not None:
                return
            current = self.store.sessions.current()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                return
            if (
                current is not None
                and not force
                and self.engine.get("session_id") == current.id
                and self.engine.get("state") == "armed"
            ):
                return
            try:
                plan = self.planner.next_program()
            except StationError as exc:
                # A plan that cannot compile (changes are validated before they are
                # written, so only an old record or a changed wiring gets here) arms
                # nothing; the page shows why (``next_info``), and no caller (a stop, an
                # engine reconnect) fails because of it.
                log.warning("the plan cannot run: %s", exc)
                plan = {"allowed": False, "message": f"the plan cannot run: {exc}"}
            if plan is None or not plan["allowed"]:
                if current is not None:
                    self.recorder.final(
                        current.id,
                        "stopped",
                        "disarmed: " + (plan["message"] if plan else "no plan"),
                        "system",
                    )
                    self.call_quiet("disarm")
                return
            sid = self._session_for(current, plan)
            try:
                self.link.call(
                    "arm", {"program": plan["program"].model_dump(mode="json"), "session_id": sid}
                )
            except StationError as exc:
                self.recorder.final(sid, "stopped", f"the engine refused to arm: {exc}", "engine")
                log.warning("arming session %s: %s", sid, exc)
                self.note_refusal(exc, "arm")
                return
            self.engine.refusal = None
            self.engine.update(session_id=sid)
        self._publish({"event": "session", "session_id": sid, "state": "armed"})

    def _session_for(self, current: Any, plan: dict[str, Any]) -> int:
        """The session row to arm: the armed one that never started, when it is the same
        program (a stop of an armed station, an engine reconnect: no new record each
        time); else a new one, the old armed row closed as replaced."""
        if current is not None and current.state == "armed" and current.started_at is None:
            try:
                same = self.planner.program_of(current.id) == plan["program"]
            except StationError:
                same = False
            if same:
                return int(current.id)
            self.recorder.final(current.id, "stopped", "replaced before it started", "system")
        return self.planner.create_session(plan)

    def note_refusal(self, exc: StationError, action: str) -> None:
        """Keep what made an arm or a start fail as the station's fault, for the banner:
        the device fault the engine reports (``start_all`` failed), or the engine's
        refusal itself when it is not a passing state (busy, e-stop latched, ...)."""
        try:
            fault = (self.link.call("status", timeout=1.0) or {}).get("fault")
        except StationError:
            fault = None
        if fault:
            self.engine.refusal = fault
        elif isinstance(exc, EngineRefused) and exc.code not in TRANSIENT_REFUSALS:
            self.engine.refusal = {
                "device": None,
                "message": f"the engine refused to {action} the program: {exc}",
            }

    def call_quiet(self, method: str, params: dict[str, Any] | None = None) -> None:
        try:
            self.link.call(method, params)
        except StationError as exc:
            log.warning("engine %s: %s", method, exc)

    # -- the panel's idle LED -------------------------------------------------------------

    def sync_indicator(self) -> None:
        """Tell the engine which idle pattern the panel's LED shows: ``limit`` when the
        limits refuse a start (a press does nothing), ``due`` at a reminder, else idle."""
        want = self.indicator()
        if want != self.engine.indicator:
            try:
                self.link.call("set_indicator", {"pattern": want})
                self.engine.indicator = want
            except StationError as exc:
                log.warning("set_indicator %s: %s", want, exc)

    def indicator(self) -> str:
        nxt = self.next_info()
        current = self.store.sessions.current()
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

    # -- the next session -----------------------------------------------------------------

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

    def invalidate(self) -> None:
        with self._lock:
            self._next_cache = None
