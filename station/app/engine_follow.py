"""Following the engine: its event stream, reconnects, and reconciling the record.

Why apart from the coordinator's arming and page queries: this is the one background
thread's job. It connects to the engine, catches up on events it missed while away
(``station.app.catchup``), reconciles the record on every (re)connect (a session the engine
lost is aborted; one it still plays, because the app restarted, is followed on), hands
each event to the recorder and the pages, and keeps the last engine status. The
coordinator (``station.app.coordinator``) mixes it in and provides the store, the link, the
recorder, the reminders and the arming it calls.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from station.app.catchup import EventCursor
from station.app.engine_link import EngineUnavailable
from station.app.status_text import LIVE_ENGINE_STATES, engine_fields
from station.errors import StationError

log = logging.getLogger("station.app.coordinator")

RECONNECT_S = 1.0
IDLE_ARM_S = 5.0


class EngineFollower:
    """Mixed into ``Coordinator``; every attribute below is set by its constructor."""

    simulate: bool
    store: Any
    link: Any
    recorder: Any
    reminders: Any
    _lock: threading.RLock
    _record: threading.RLock
    _engine: dict[str, Any]
    _arm_fault: dict[str, Any] | None
    _indicator: str | None
    _closing: threading.Event
    _linked: threading.Event
    _cursor: EventCursor
    _next_check: float

    def arm_next(self, *, force: bool = False) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def sync_indicator(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _publish(self, event: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                status = engine_fields(self.link.call("status"))
                live = self.store.current_session()
                live_sid = live.id if live and live.state in LIVE_ENGINE_STATES else None
                since, only_sid = self._cursor.plan(status, live_sid)
                if since is not None:  # catch up on what the engine did while we were away
                    missed = self.link.call("events", {"since": since}).get("events", [])
                    for event in self._cursor.missed(missed, only_sid):
                        if self._cursor.admit(event, only_sid):
                            self._handle(event)
                self._cursor.caught_up(status)
                self._on_connect(status)
                for event in self.link.events(
                    stop=self._closing, idle=self._idle, since=self._cursor.seq
                ):
                    if self._cursor.admit(event):
                        self._handle(event)
            except EngineUnavailable as exc:
                self._linked.clear()
                self._set_engine({"connected": False, "state": "unknown", "error": str(exc)})
            except Exception:  # the thread must survive anything and keep following
                log.exception("engine event thread")
            self._closing.wait(RECONNECT_S)

    def _idle(self) -> None:
        """Called by the event stream when quiet: arm once the limits allow again."""
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + IDLE_ARM_S
            if self._arm_fault is None:  # a faulty device: retry only when asked to start
                self.arm_next()
            self.sync_indicator()

    # -- engine state and events ----------------------------------------------------------

    def _set_engine(self, status: dict[str, Any]) -> None:
        with self._lock:
            changed = status.get("state") != self._engine.get("state")
            self._engine = {**status, "connected": status.get("connected", True)}
        if changed:
            self._publish({"event": "state", "state": status.get("state")})

    def _on_connect(self, status: dict[str, Any]) -> None:
        """Reconcile the record with the engine after a (re)connect: a session the engine
        lost is aborted; one it still plays (the app restarted) is followed on."""
        self._set_engine({**status, "connected": True})
        self._arm_fault = None
        self._indicator = None  # a restarted engine starts with its idle pattern
        if "simulate" in status:
            self.simulate = bool(status["simulate"])
        engine_sid = status.get("session_id")
        current = self.store.current_session()
        last_stop = status.get("last_stop") or {}
        if (
            current is not None
            and current.state in LIVE_ENGINE_STATES
            and status.get("state") not in LIVE_ENGINE_STATES
            and str(last_stop.get("session_id")) == str(current.id)
        ):
            # It ended while the app was away (completed, or stopped at the panel): the
            # engine still knows how, so record that rather than calling it aborted.
            self.recorder.record("stopped", current.id, {**last_stop, "event": "stopped"})
        elif current is not None and current.id != engine_sid and current.state != "armed":
            self.recorder.final(
                current.id, "aborted", "the engine lost the session (restart)", "engine"
            )
        elif (
            current is not None
            and current.state in LIVE_ENGINE_STATES
            and status.get("state") not in LIVE_ENGINE_STATES
        ):
            self.recorder.final(
                current.id, "aborted", "the engine no longer runs the session", "engine"
            )
        elif (
            current is not None
            and status.get("state") in LIVE_ENGINE_STATES
            and str(engine_sid) == str(current.id)
        ):
            # Only the session the engine plays: ``status`` was read before the replay,
            # which may have ended that session and armed the next one since.
            self.recorder.record("state", current.id, {"state": status.get("state")})
        self.arm_next(force=engine_sid != getattr(self.store.current_session(), "id", None))
        self.reminders.check()
        self.sync_indicator()
        self._linked.set()

    def wait_linked(self, timeout: float) -> bool:
        """True once the record is reconciled with a connected engine (right after the
        app starts, a press can come before the event thread has connected)."""
        return self._linked.wait(timeout)

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        fields = engine_fields(event)
        sid = fields.get("session_id")
        if kind == "state" or "state" in event:
            self._set_engine({**self._engine, **fields})
        if kind == "step_started" and isinstance(event.get("index"), int):
            with self._lock:
                self._engine["step_index"] = event["index"]
        if kind == "fault":
            with self._lock:
                self._engine["fault"] = {
                    "device": event.get("device"),
                    "message": event.get("message"),
                }
        ended = False
        try:
            with self._record:
                current = self.store.current_session()
                # A fault at arm time carries the engine's previous session id: only the
                # session the record has as current (or a named live one) is touched.
                if kind != "fault" or (current is not None and current.id == sid):
                    ended = self.recorder.record(kind, sid, event)
        except StationError as exc:
            log.warning("recording %s for session %s: %s", kind, sid, exc)
        if ended:
            self.arm_next()
            self.reminders.check()
            self.sync_indicator()
        self._publish(event)
