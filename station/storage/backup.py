"""Backup and restore while the station runs, through SQLite's online backup API.

Why the backup API and not a file copy: with WAL the newest rows may live in
``station.db-wal``; copying files mid-write can produce a torn or stale copy. The backup
API copies a consistent snapshot while the station keeps writing, and a restore writes
through SQLite's locks into the live file, so the running station's connection simply
sees the restored data. Every restore checks the file first (integrity, ours, not from a
newer station) and keeps the database it replaces as ``station.db.<time>.bak``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from station.errors import Conflict, StorageError
from station.storage.db import (
    check_integrity,
    connect,
    db_path,
    schema_version,
)
from station.storage.migrations import latest_version, refuse_newer
from station.storage.station_sessions import abort_all_unfinished
from station.storage.store import Store


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    database: Path
    previous_kept_as: Path | None  # None when there was no database before
    schema_version_in_file: int
    schema_version_now: int
    sessions_aborted: list[int]  # in progress in the backup, so marked aborted


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup(source: Store | Path, dest_file: Path, *, overwrite: bool = False) -> Path:
    """Copy the live database (a ``Store`` or a data directory) to ``dest_file`` as one
    self-contained SQLite file, checked before it is put in place."""
    live = source.path if isinstance(source, Store) else db_path(Path(source))
    dest = Path(dest_file).expanduser().resolve()
    if not live.exists():
        raise StorageError(f"no station database at {live}; check --data-dir")
    if dest in {live.resolve(), Path(f"{live.resolve()}-wal"), Path(f"{live.resolve()}-shm")}:
        raise StorageError(f"{dest}: that is the live database; back up to another file")
    if dest.exists() and not overwrite:
        raise Conflict(f"{dest} already exists; choose a new file name or remove it first")
    if not dest.parent.is_dir():
        raise StorageError(f"{dest.parent}: no such folder for the backup; create it first")
    partial = dest.with_name(f".{dest.name}.{_stamp()}.partial")
    src = connect(live)
    try:
        check_integrity(src, live)
        dst = sqlite3.connect(str(partial), isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            check_integrity(dst, partial, full=True)
        finally:
            dst.close()
        _fsync(partial)
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise StorageError(f"backup to {dest} failed: {exc}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    return dest


def restore(src_file: Path, data_dir: Path, *, force: bool = False) -> RestoreResult:
    """Replace the data directory's database with a backup after checking the backup.

    Refused while a session is running or paused (unless ``force``): the engine would be
    delivering a session the restored record does not know. A corrupt live database is
    moved aside (kept) instead of being copied."""
    src = Path(src_file).expanduser().resolve()
    data_dir = Path(data_dir)
    live = db_path(data_dir)
    if not src.is_file():
        raise StorageError(f"{src}: no such backup file")
    if src == live.resolve():
        raise StorageError(f"{src} is the live database itself; name a backup file")
    data_dir.mkdir(parents=True, exist_ok=True)
    staged = data_dir / f".restore-{_stamp()}.db"
    try:
        shutil.copyfile(src, staged)
        if Path(f"{src}-wal").exists():  # a raw copy of a live database, WAL and all
            shutil.copyfile(f"{src}-wal", f"{staged}-wal")
        version = _check_backup(staged, src)
        kept = _replace_live(staged, live, force=force)
    finally:
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{staged}{extra}").unlink(missing_ok=True)
    with Store.open(data_dir) as store:  # migrates an older backup to this version
        now_version = store.schema_version
        # A session in progress when the backup was taken is not running now.
        aborted = abort_all_unfinished(
            store.db, "in progress when the restored backup was taken"
        )
    return RestoreResult(src, live, kept, version, now_version, aborted)


def _check_backup(staged: Path, original: Path) -> int:
    conn = connect(staged)
    try:
        try:
            check_integrity(conn, staged, full=True)
        except StorageError as exc:
            raise StorageError(
                f"{original}: not a usable backup; nothing was changed. ({exc})"
            ) from None
        version = schema_version(conn)
        if version == 0:
            raise StorageError(
                f"{original}: not a station backup (no station tables); nothing was changed"
            )
        try:
            refuse_newer(version, original)
        except StorageError as exc:
            raise StorageError(f"{exc} Nothing was changed.") from None
        conn.execute("PRAGMA journal_mode = DELETE")  # fold any copied WAL into the file
        return version
    finally:
        conn.close()


def _replace_live(staged: Path, live: Path, *, force: bool) -> Path | None:
    if not live.exists():
        os.replace(staged, live)
        return None
    conn = connect(live)
    try:
        try:
            check_integrity(conn, live)
        except StorageError:
            conn.close()
            return _move_aside(staged, live)
        _refuse_if_active(conn, live, force=force)
        if schema_version(conn) > latest_version():
            raise StorageError(
                f"{live}: the current database is from a newer station; "
                "update the station before restoring over it"
            )
        kept = live.with_name(f"{live.name}.{_stamp()}.bak")
        old = sqlite3.connect(str(kept), isolation_level=None)
        try:
            conn.backup(old)
            old.execute("PRAGMA journal_mode = DELETE")
        finally:
            old.close()
        _fsync(kept)
        new = sqlite3.connect(str(staged), isolation_level=None)
        try:
            new.backup(conn)  # through SQLite's locks: running readers see old or new
        except sqlite3.Error as exc:
            raise StorageError(
                f"restoring into {live} failed ({exc}); the previous "
                f"database is unchanged and also kept as {kept}"
            ) from None
        finally:
            new.close()
        return kept
    finally:
        conn.close()


def _refuse_if_active(conn: sqlite3.Connection, live: Path, *, force: bool) -> None:
    if force or schema_version(conn) == 0:
        return
    row = conn.execute(
        "SELECT id, state FROM sessions WHERE state IN ('running', 'paused') LIMIT 1"
    ).fetchone()
    if row:
        raise Conflict(
            f"session {row[0]} is {row[1]}; stop it before restoring (or force the restore)"
        )


def _move_aside(staged: Path, live: Path) -> Path:
    """The live file is damaged: keep it (and its WAL) under a new name, put the backup in."""
    kept = live.with_name(f"{live.name}.corrupt-{_stamp()}.bak")
    os.replace(live, kept)
    for extra in ("-wal", "-shm"):
        side = Path(f"{live}{extra}")
        if side.exists():
            os.replace(side, Path(f"{kept}{extra}"))
    os.replace(staged, live)
    return kept


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
