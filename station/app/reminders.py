"""Reminders: at the patient's reminder times a session becomes "due" until one starts.

Why a small scheduler with an injectable clock: reminders are about wall-clock times of
day, so tests must be able to move time without waiting; the scheduler only decides and
records, and tells its owner (the coordinator) when "due" changes, which then shows it on
the page and on the panel's LED (the engine's ``due`` idle pattern).

Each reminder is recorded once with ``store.reminders.record`` at its scheduled time (so
adherence counts it once, also across app restarts); it stays due until a session starts
at or after that time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from station.app.planner import Planner
from station.storage import Store
from station.storage.limits import local

log = logging.getLogger("station.app.reminders")

POLL_S = 15.0
REMINDER_KIND = "due"


class ReminderScheduler:
    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        on_change: Callable[[dict[str, Any]], None],
        clock: Callable[[], datetime] | None = None,
        poll_s: float = POLL_S,
    ):
        self.store = store
        self.planner = planner
        self.on_change = on_change
        self._clock = clock or planner.now
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"due": False, "time": None, "since": None}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="reminders", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a bad plan or a busy database must not end reminders
                log.exception("reminder check")
            self._stop.wait(self.poll_s)

    def check(self) -> dict[str, Any]:
        """One pass at the clock's ``now``: record a reminder whose time has come, and
        work out whether a session is due. Calls ``on_change`` when "due" changes."""
        now = self._clock()
        at = self._latest_reminder(now)
        due = False
        if at is not None:
            if not self.store.reminders.between(at, at + timedelta(seconds=1)):
                self.store.reminders.record(REMINDER_KIND, at=at)
            due = not self._session_started_since(at)
        new = {
            "due": due,
            "time": local(at, self.store.tz).strftime("%H:%M") if at else None,
            "since": at.isoformat() if due and at else None,
        }
        with self._lock:
            changed = new["due"] != self._state["due"] or new["since"] != self._state["since"]
            self._state = new
        if changed:
            self.on_change(dict(new))
        return new

    def _latest_reminder(self, now: datetime) -> datetime | None:
        """Today's latest reminder time at or before ``now`` (aware, like the clock)."""
        times = self.planner.settings().reminder_times
        if not times:
            return None
        here = local(now, self.store.tz)
        today = here.date()
        passed = []
        for text in times:
            hh, mm = (int(x) for x in text.split(":"))
            naive = datetime.combine(today, time(hh, mm))
            tz = self.store.tz
            at = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
            if at <= here:
                passed.append(at)
        if not passed:
            return None
        latest = max(passed)
        return latest.astimezone(now.tzinfo) if now.tzinfo else latest

    def _session_started_since(self, at: datetime) -> bool:
        for s in self.store.sessions.latest(limit=50):
            if s.started_at is not None and _aware(s.started_at) >= _aware(at):
                return True
        return False


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.astimezone()
