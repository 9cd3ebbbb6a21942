"""Fan-out of station events to open pages (server-sent events), never blocking.

Why its own concept: a page that stops reading must not hold up the coordinator or the
engine's event thread; each listener gets a bounded queue and loses its oldest events.
Each open stream holds one of waitress's threads, so a subscriber may name an owner (the
account) and a limit: the owner's next stream is refused (``subscribe`` returns None)
rather than let one account take the threads the page needs (issue 13).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

SUB_QUEUE = 256


class StreamSubscription:
    """One listener (an open page) on the fan-out."""

    def __init__(self, *, owner: Fanout, key: str | None = None):
        self._owner = owner
        self.key = key
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=SUB_QUEUE)

    def put(self, event: dict[str, Any]) -> None:
        try:
            self._q.put_nowait(event)
        except queue.Full:  # a stalled page loses old events, never blocks the station
            try:
                self._q.get_nowait()
                self._q.put_nowait(event)
            except (queue.Empty, queue.Full):
                pass

    def get(self, timeout: float) -> dict[str, Any]:
        return self._q.get(timeout=timeout)

    def close(self) -> None:
        self._owner.unsubscribe(self)


class Fanout:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[StreamSubscription] = []

    def subscribe(self) -> StreamSubscription:
        sub = StreamSubscription(owner=self)
        with self._lock:
            self._subs.append(sub)
        return sub

    def subscribe_limited(self, *, key: str, limit: int) -> StreamSubscription | None:
        """A new listener owned by ``key``; None when ``key`` already holds ``limit``."""
        sub = StreamSubscription(owner=self, key=key)
        with self._lock:
            if self.open_for(key) >= limit:
                return None
            self._subs.append(sub)
        return sub

    def open_for(self, key: str) -> int:
        return sum(1 for s in self._subs if s.key == key)

    def unsubscribe(self, sub: StreamSubscription) -> None:
        """Idempotent: a stream's end and its response's close both call it."""
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.put(event)
