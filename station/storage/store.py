"""``Store``: the only code that reads or writes the station database.

Why one connection behind a lock: the app is a handful of waitress threads and an event
drain; one serialised connection is simple to reason about (every method is atomic, a
check-then-write like "is this session still running?" cannot race) and fast enough for
ratings and step records. Other processes (``station export``, ``station backup``) open
their own connections; WAL lets them read while the station writes.

Every write runs in ``BEGIN IMMEDIATE ... COMMIT`` with ``synchronous=FULL``: when a
method returns, the row is on disk. The methods live in small mixins by concept
(sessions, ratings + journal, progression + adherence); this module holds opening,
transactions, users and the plan.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from station.errors import Conflict, NotFound, StorageError
from station.storage import validate as v
from station.storage.db import (
    apply_pragmas,
    check_integrity,
    connect,
    db_path,
    from_text,
    schema_version,
    to_text,
    utc_now,
)
from station.storage.migrations import migrate, refuse_newer
from station.storage.models import ROLES, Plan, User
from station.storage.progress import ProgressMixin
from station.storage.ratings import RatingsMixin
from station.storage.rows import _session_row
from station.storage.sessions import SessionsMixin


class Store(SessionsMixin, RatingsMixin, ProgressMixin):
    """The station's record. Open with ``Store.open(data_dir)``; close with ``close()``
    or use it as a context manager."""

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

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        create: bool = True,
        clock: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
    ) -> Store:
        """Open (creating if ``create``) ``data_dir/station.db``: integrity check, pragmas,
        migrations. Refuses a corrupt file or one from a newer station, keeping it."""
        data_dir = Path(data_dir)
        path = db_path(data_dir)
        if not path.exists():
            if not create:
                raise StorageError(
                    f"no station database at {path}; check --data-dir (the station creates "
                    "it on its first run)"
                )
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"{data_dir}: cannot create the data directory: {exc.strerror}"
                ) from None
        conn = connect(path, check_same_thread=False)
        try:
            check_integrity(conn, path)
            refuse_newer(schema_version(conn), path)
            apply_pragmas(conn, path)
            migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(conn=conn, path=path, clock=clock, tz=tz)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return schema_version(conn)

    # -- plumbing shared by the mixins -------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
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
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StorageError(f"{self.path}: the write could not be saved ({exc})") from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
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

    # -- users -------------------------------------------------------------------------

    def create_user(self, name: str, role: str, password_hash: str) -> User:
        """A new account; names are unique ignoring case. The hash comes from the web
        layer (argon2); storage never sees a password."""
        name = v.name("name", name)
        role = v.choice("role", role, ROLES)
        password_hash = v.text("password_hash", password_hash, 1024)
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"a user named {name!r} already exists; choose another name")
            cur = conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?,?,?,?)",
                (name, role, password_hash, to_text(self.now())),
            )
            row = conn.execute("SELECT * FROM users WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _user(row)

    def get_user(self, name: str) -> User | None:
        """The user with this name (any case), or None (what a login check needs)."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def get_user_by_id(self, user_id: int) -> User | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    def count_users(self, role: str | None = None) -> int:
        if role is not None:
            v.choice("role", role, ROLES)
        with self._read() as conn:
            if role is None:
                return conn.execute("SELECT count(*) FROM users").fetchone()[0]
            return conn.execute("SELECT count(*) FROM users WHERE role = ?", (role,)).fetchone()[0]

    def set_password(self, name: str, password_hash: str) -> None:
        password_hash = v.text("password_hash", password_hash, 1024)
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            if cur.rowcount == 0:
                raise NotFound(f"no user named {name!r}; `station user add` creates one")

    # -- the patient plan --------------------------------------------------------------

    def get_plan(self) -> Plan | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM plan WHERE id = 1").fetchone()
            levels = dict(conn.execute("SELECT ladder, level FROM plan_levels").fetchall())
        if row is None:
            return None
        return Plan(
            protocol_id=row["protocol_id"],
            protocol_version=row["protocol_version"],
            levels=levels,
            ranking=json.loads(row["ranking_json"]),
            settings=json.loads(row["settings_json"]),
            updated_at=from_text(row["updated_at"]),
        )

    def set_plan(
        self,
        protocol_id: str,
        protocol_version: str,
        *,
        levels: dict[str, int] | None = None,
        ranking: dict[str, list[str]] | None = None,
        settings: dict[str, Any] | None = None,
        reason: str = "plan set by the clinician",
    ) -> Plan:
        """Set the plan. ``levels``/``ranking``/``settings`` left as None keep their
        stored values. Checking settings against the protocol's caps is the caller's job
        (the protocol model knows the caps); this stores what it is given."""
        protocol_id = v.name("protocol_id", protocol_id)
        protocol_version = v.name("protocol_version", protocol_version)
        new_levels = v.levels(levels) if levels is not None else None
        ranking_json = v.json_text("ranking", v.ranking(ranking)) if ranking is not None else None
        settings_json = v.json_text("settings", settings) if settings is not None else None
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        now = to_text(self.now())
        with self._tx() as conn:
            conn.execute(
                """INSERT INTO plan (id, protocol_id, protocol_version, ranking_json,
                       settings_json, updated_at)
                   VALUES (1, ?, ?, coalesce(?, '{}'), coalesce(?, '{}'), ?)
                   ON CONFLICT (id) DO UPDATE SET protocol_id = excluded.protocol_id,
                       protocol_version = excluded.protocol_version,
                       ranking_json = coalesce(?, ranking_json),
                       settings_json = coalesce(?, settings_json),
                       updated_at = excluded.updated_at""",
                (
                    protocol_id,
                    protocol_version,
                    ranking_json,
                    settings_json,
                    now,
                    ranking_json,
                    settings_json,
                ),
            )
            if new_levels is not None:
                conn.execute(
                    f"DELETE FROM plan_levels WHERE ladder NOT IN "
                    f"({','.join('?' * len(new_levels))})",
                    tuple(new_levels),
                )
                for ladder, level in new_levels.items():
                    self._write_level(conn, ladder, level, reason, None, now)
        plan = self.get_plan()
        assert plan is not None
        return plan

    def set_level(
        self, ladder: str, level: int, reason: str, *, session_id: int | None = None
    ) -> None:
        """Move one ladder to ``level`` (recorded in the level history with ``reason``)."""
        ladder = v.name("ladder", ladder)
        level = v.integer("level", level, 0)
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        with self._tx() as conn:
            if session_id is not None:
                _session_row(conn, session_id)
            self._write_level(conn, ladder, level, reason, session_id, to_text(self.now()))

    @staticmethod
    def _write_level(
        conn: sqlite3.Connection,
        ladder: str,
        level: int,
        reason: str,
        session_id: int | None,
        now: str,
    ) -> None:
        row = conn.execute("SELECT level FROM plan_levels WHERE ladder = ?", (ladder,)).fetchone()
        old = row[0] if row else None
        if old == level:
            return
        conn.execute(
            """INSERT INTO plan_levels (ladder, level, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (ladder) DO UPDATE SET level = excluded.level,
                   updated_at = excluded.updated_at""",
            (ladder, level, now),
        )
        conn.execute(
            """INSERT INTO level_history (at, ladder, from_level, to_level, reason, session_id)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (now, ladder, old, level, reason, session_id),
        )


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=from_text(row["created_at"]),
    )
