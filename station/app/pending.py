"""Record writes the disk refused, kept in memory and retried in order until they land.

Why (issue 13, "faults tell the truth"): the engine stops first and the record follows.
When the disk is full, the stop has happened all the same, so the answer must say so, and
the record must not keep a session "running" for ever: the write that ends it (and the
rating that ended it) waits here and is written as soon as the disk takes it again, with
the real reason. Order is kept: while anything waits, a new write queues behind it, so a
later, vaguer report (the engine's own "stopped" event) never lands before the rating's
reason it follows. Only ``StorageFull`` (the disk refused) defers a write; any other error
is the caller's, as before. Memory only: an app restart loses what still waits (the engine
follower then reconciles the session from the engine's last stop, as on any reconnect).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from station.errors import StorageFull

log = logging.getLogger("station.app.pending")

RETRY_S = 5.0
MAX_WAITING = 1000  # a disk full for days must not grow memory without bound


@dataclass(frozen=True, kw_only=True)
class Pending:
    what: str
    write: Callable[[], object]


class PendingWrites:
    def __init__(self, *, retry_s: float = RETRY_S) -> None:
        self.retry_s = retry_s
        self._lock = threading.RLock()
        self._queue: deque[Pending] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attempt(self, what: str, write: Callable[[], object]) -> bool:
        """Write now (after anything still waiting); True when it is on disk, False when
        the disk refused it and it waits. Other errors propagate."""
        with self._lock:
            if self.flush() == 0:
                try:
                    write()
                    return True
                except StorageFull as exc:
                    log.error("%s: not written, kept to retry (%s)", what, exc)
            if len(self._queue) >= MAX_WAITING:
                dropped = self._queue.popleft()
                log.error("%s: dropped, %d writes already wait", dropped.what, MAX_WAITING)
            self._queue.append(Pending(what=what, write=write))
            return False

    def defer(self, what: str, write: Callable[[], object]) -> None:
        """Queue a write without trying it now (one that just failed, from inside a
        write that ``flush`` is running)."""
        with self._lock:
            self._queue.append(Pending(what=what, write=write))

    def flush(self) -> int:
        """Write what waits, oldest first, up to the first the disk still refuses; the
        number still waiting. A write that fails otherwise is logged and dropped."""
        with self._lock:
            while self._queue:
                item = self._queue[0]
                try:
                    item.write()
                    log.warning("%s: written now (the disk takes writes again)", item.what)
                except StorageFull:
                    break
                except Exception:
                    log.exception("%s: dropped, it failed for another reason", item.what)
                self._queue.popleft()
            return len(self._queue)

    def waiting(self) -> list[str]:
        with self._lock:
            return [p.what for p in self._queue]

    # -- the retry thread -----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pending-writes", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.retry_s):
            if self._queue:
                try:
                    self.flush()
                except Exception:  # the thread outlives anything a write raises
                    log.exception("pending writes")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.flush():
            log.error("writes lost at shutdown (the disk is still full): %s", self.waiting())
