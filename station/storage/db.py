"""Opening the station database safely: pragmas, an integrity check, and time text.

Why these pragmas: WAL lets the web threads, an export and a backup read while a rating
is written; ``synchronous=FULL`` makes every acknowledged write survive power loss (the
Pi has no battery); foreign keys keep ratings from pointing at sessions that do not exist;
``busy_timeout`` makes a second process (``station export`` while the station runs) wait
for a writer instead of failing at once.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from station.errors import InvalidInput, StorageError

DB_NAME = "station.db"
# "STN1" in the SQLite header, so a foreign SQLite file is never taken for ours.
APPLICATION_ID = 0x53544E31
BUSY_TIMEOUT_MS = 5000
MIN_SQLITE = (3, 35, 0)  # ALTER TABLE ... DROP COLUMN (migration 0002)


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``)
    with the station's pragmas. Does not check integrity; see ``check_integrity``."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise StorageError(
            f"SQLite {sqlite3.sqlite_version} is too old; the station needs {need} or newer "
            "(Raspberry Pi OS bookworm or later)"
        )
    try:
        conn = sqlite3.connect(
            str(path),
            isolation_level=None,
            check_same_thread=check_same_thread,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database: {exc}") from None
    conn.row_factory = sqlite3.Row
    return conn


def apply_pragmas(conn: sqlite3.Connection, path: Path) -> None:
    """WAL, synchronous FULL, foreign keys, busy timeout; run after the integrity check so
    a damaged file is never written to."""
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot set up the database: {exc}") from None
    if str(mode).lower() != "wal":
        raise StorageError(
            f"{path}: the database could not switch to WAL mode (got {mode!r}); "
            "the data directory must be on a local, writable file system"
        )


def check_integrity(conn: sqlite3.Connection, path: Path, *, full: bool = False) -> None:
    """Raise ``StorageError`` if the file is not a healthy SQLite database of ours.

    ``quick_check`` at every start-up (it reads every page, so torn pages after a power
    cut are found before the station runs on them); ``integrity_check`` (also indexes)
    before a restore. The file is never modified or removed here."""
    pragma = "integrity_check" if full else "quick_check"
    fix = (
        "The file was left untouched. Restore a backup with "
        f"`station restore BACKUP_FILE --data-dir {path.parent}`, or move the file away "
        "to start with an empty database."
    )
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"{path}: the database is damaged or not a database ({exc}). {fix}"
        ) from None
    if rows != ["ok"]:
        shown = "; ".join(str(r) for r in rows[:3])
        raise StorageError(f"{path}: the database failed its integrity check ({shown}). {fix}")
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and (version != 0 or tables)):
        raise StorageError(
            f"{path}: this SQLite file is not a station database (application_id "
            f"{app_id:#x}); check --data-dir or restore a station backup"
        )


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    if cur.lastrowid is None:
        raise StorageError("the database did not report the new row's id")
    return int(cur.lastrowid)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(when: datetime, field: str = "time") -> str:
    """Aware datetime -> ISO-8601 UTC with milliseconds (sorts as text in time order)."""
    if not isinstance(when, datetime):
        raise InvalidInput(field, when, "a timezone-aware datetime")
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput(
            field,
            when,
            "a timezone-aware datetime",
            f"{field} = {when}: has no timezone; pass an aware datetime (e.g. datetime.now(UTC))",
        )
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def from_text(text: str | None) -> datetime | None:
    """A nullable time column (``started_at``, ``ended_at``) -> datetime or None."""
    return None if text is None else datetime.fromisoformat(text)


def parse_time(text: str) -> datetime:
    """A NOT NULL time column (``created_at``, ``at``) -> datetime."""
    return datetime.fromisoformat(text)
