"""Following the engine: its event stream, reconnects, and reconciling the record.

Why apart from the arming and the page's actions: this is the one background thread's
job. It connects to the engine, catches up on events it missed while away
(``station.app.catchup``), reconciles the record on every (re)connect (a session the engine
lost is aborted; one it still plays, because the app restarted, is followed on), hands
each event to the recorder and the pages, and keeps the last engine status in the shared
``EngineView``. The coordinator (``station.app.coordinator``) builds it with the link, the
store, the recorder, the reminders and the arming it calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from station.app.arming import Arming
from station.app.catchup import EventCursor
from station.app.engine_link import EngineLink, EngineUnavailable
from station.app.engine_view import EngineView
from station.app.recorder import SessionRecorder
from station.app.reminders import ReminderScheduler
from station.app.status_text import LIVE_ENGINE_STATES, engine_fields
from station.errors import StationError
from station.storage import Store

log = logging.getLogger("station.app.engine_follow")

RECONNECT_S = 1.0
IDLE_ARM_S = 5.0


class EngineFollower:
    def __init__(
        self,
        *,
        link: EngineLink,
        store: Store,
        recorder: SessionRecorder,
        reminders: ReminderScheduler,
        arming: Arming,
        engine: EngineView,
        publish: Callable[[dict[str, Any]], None],
    ):
        self.link = link
        self.store = store
        self.recorder = recorder
        self.reminders = reminders
        self.arming = arming
        self.engine = engine
        self._publish = publish
        self._cursor = EventCursor()  # what of the engine's events this app has handled
        self._next_check = 0.0
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow the engine's events in a thread until ``close()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engine-events", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop following (the caller closes the link, which ends a blocked read)."""
        self._closing.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                status = engine_fields(self.link.call("status"))
                live = self.store.sessions.current()
                live_sid = live.id if live and live.state in LIVE_ENGINE_STATES else None
                since, only_sid = self._cursor.plan(status, live_sid)
                if since is not None:  # catch up on what the engine did while we were away
                    missed = self.link.call("events", {"since": since}).get("events", [])
                    for event in self._cursor.missed(missed, only_sid):
                        if self._cursor.admit(event, only_sid):
                            self._handle(event)
                self._cursor.caught_up(status)
                self.on_connect(status)
                for event in self.link.events(
                    stop=self._closing, idle=self._idle, since=self._cursor.seq
                ):
                    if self._cursor.admit(event):
                        self._handle(event)
            except EngineUnavailable as exc:
                self.engine.disconnected(str(exc))
            except Exception:  # the thread must survive anything and keep following
                log.exception("engine event thread")
            self._closing.wait(RECONNECT_S)

    def _idle(self) -> None:
        """Called by the event stream when quiet: arm once the limits allow again."""
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + IDLE_ARM_S
            if self.engine.refusal is None:  # a fault: retry only when asked to start
                self.arming.arm_next()
            self.arming.sync_indicator()

    # -- engine state and events ----------------------------------------------------------

    def on_connect(self, status: dict[str, Any]) -> None:
        """Reconcile the record with the engine after a (re)connect: a session the engine
        lost is aborted; one it still plays (the app restarted) is followed on."""
        self.engine.set({**status, "connected": True})
        self.engine.refusal = None
        self.engine.indicator = None  # a restarted engine starts with its idle pattern
        if "simulate" in status:
            self.engine.simulate = bool(status["simulate"])
        engine_sid = status.get("session_id")
        current = self.store.sessions.current()
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
        now_current = self.store.sessions.current()
        self.arming.arm_next(force=engine_sid != (now_current.id if now_current else None))
        self.reminders.check()
        self.arming.sync_indicator()
        self.engine.linked.set()

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        fields = engine_fields(event)
        sid = fields.get("session_id")
        if kind == "state" or "state" in event:
            self.engine.set({**self.engine.snapshot(), **fields})
        if kind == "step_started" and isinstance(event.get("index"), int):
            self.engine.update(step_index=event["index"])
        if kind == "fault":
            self.engine.update(
                fault={"device": event.get("device"), "message": event.get("message")}
            )
        ended = False
        try:
            with self.engine.record:
                current = self.store.sessions.current()
                # A fault at arm time carries the engine's previous session id: only the
                # session the record has as current (or a named live one) is touched.
                if kind != "fault" or (current is not None and current.id == sid):
                    ended = self.recorder.record(kind, sid, event)
        except StationError as exc:
            log.warning("recording %s for session %s: %s", kind, sid, exc)
        if ended:
            self.arming.arm_next()
            self.reminders.check()
            self.arming.sync_indicator()
        self._publish(event)
