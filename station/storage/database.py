"""``Database``: the one connection, its lock and the clock that every repository shares.

Why one connection behind a lock: the app is a handful of waitress threads and an event
drain; one serialised connection is simple to reason about (every repository method is
atomic, a check-then-write like "is this session still running?" cannot race) and fast
enough for ratings and step records. Other processes (``station export``, ``station
backup``) open their own connections; WAL lets them read while the station writes.

Every write runs in ``BEGIN IMMEDIATE ... COMMIT`` with ``synchronous=FULL``: when a
method returns, the row is on disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

from station.errors import StorageError, StorageFull
from station.storage.db import utc_now


class Database:
    """The shared connection; repositories reach SQL only through ``tx()`` and ``read()``."""

    def __init__(
        self,
        *,
        conn: sqlite3.Connection,
        path: Path,
        clock: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
    ):
        self._conn = conn
        self.path = path
        self._clock = clock
        self.tz = tz  # None: the system's local zone (for "per day" and report days)
        self._lock = threading.RLock()
        self._closed = False

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable write: everything inside commits together or not at all."""
        with self._lock:
            self._check_open()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageError(
                    f"{self.path}: the database is busy or read-only ({exc})"
                ) from None
            try:
                yield conn
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
                    conn.execute("ROLLBACK")
                if _disk_refused(exc):
                    raise StorageFull(
                        f"{self.path}: the write could not be saved ({exc})"
                    ) from exc
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and _disk_refused(exc):
                    raise StorageFull(
                        f"{self.path}: the write could not be saved ({exc})"
                    ) from None
                raise StorageError(f"{self.path}: the write could not be saved ({exc})") from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: several SELECTs see one snapshot."""
        with self._lock:
            self._check_open()
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self.path}: the store is closed")


# The primary result codes (https://www.sqlite.org/rescode.html) that mean the disk would not
# take the write: SQLITE_READONLY (8), SQLITE_IOERR (10, and its extended codes), SQLITE_FULL
# (13). Anything else (a locked database, a programming error) is not a full disk.
_DISK_CODES = frozenset({8, 10, 13})


def _disk_refused(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _DISK_CODES
