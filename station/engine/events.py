"""Engine events: appended by the loop without I/O, fanned out by a pump thread.

The loop must never block on a slow reader, a socket or a log handler, so it only does
``deque.append`` of a small dict (the wire form of a typed ``station.engine.messages``
event; atomic under the GIL) and sets an ``Event`` (a short uncontended lock, only on
events, never per tick) so the pump thread sleeps until there is something to deliver
instead of polling. The pump runs on its own thread: it pops events, numbers them and
hands each to every subscriber queue (the IPC ``subscribe`` connections) and listener
(the LED indicator). A subscriber that stops reading loses the oldest events (bounded
queue), never stalls the engine.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from station.engine.messages import EngineEvent

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 1000


class EventHub:
    def __init__(self, *, poll_s: float = 1.0) -> None:
        self._pending: deque[dict[str, Any]] = deque(maxlen=100_000)
        self._subscribers: list[queue.Queue[dict[str, Any] | None]] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._lock = threading.Lock()
        self._poll_s = poll_s  # a safety net only: emit wakes the pump
        self._signal = threading.Event()
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=500)  # replayed to a returning app

    # --- loop side ---------------------------------------------------------------------
    def emit(self, event: EngineEvent) -> None:
        """Queue an event; no I/O, no lock. ``t_ns`` is the monotonic time of emission."""
        fields = event.wire()
        fields["event"] = event.name
        fields["t_ns"] = time.monotonic_ns()
        self._pending.append(fields)
        self._signal.set()

    # --- consumer side -----------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        """Sequence number of the newest delivered event (0 before the first)."""
        return self._seq

    def replay(self, since: int) -> list[dict[str, Any]]:
        """The recent events after sequence number ``since``, oldest first."""
        with self._lock:
            return [ev for ev in self.recent if ev["seq"] > since]

    def subscribe(self, since: int | None = None) -> queue.Queue[dict[str, Any] | None]:
        """A queue of events from now on; with ``since``, first the recent events after
        that sequence number (an app that was away catches up on what it missed). Under
        the same lock as delivery, so no event is both replayed and delivered, or lost."""
        q: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=SUBSCRIBER_QUEUE)
        with self._lock:
            if since is not None:
                for ev in self.recent:
                    if ev["seq"] > since:
                        q.put_nowait(ev)
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, Any] | None]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def add_listener(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(fn)

    def drain(self) -> int:
        """Deliver every pending event; returns how many."""
        n = 0
        while self._pending:
            ev = self._pending.popleft()
            self._seq += 1
            ev["seq"] = self._seq
            n += 1
            for fn in self._listeners:
                try:
                    fn(ev)
                except Exception:  # a listener bug must not stop event delivery
                    log.exception("engine event listener failed on %s", ev.get("event"))
            with self._lock:
                self.recent.append(ev)
                subs = list(self._subscribers)
            for q in subs:
                try:
                    q.put_nowait(ev)
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()
                    with contextlib.suppress(queue.Full):
                        q.put_nowait(ev)
        return n

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._signal.wait(self._poll_s)
            self._signal.clear()
            self.drain()
        self.drain()

    def close(self) -> None:
        self._stop.set()
        self._signal.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self._lock:
            subs = list(self._subscribers)
        for q in subs:
            with contextlib.suppress(queue.Full):
                q.put_nowait(None)
