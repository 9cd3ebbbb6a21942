"""Versioned schema migrations: numbered SQL files, the version in ``PRAGMA user_version``.

Why files and user_version: the schema history is plain SQL a reviewer can read, the
version lives in the database header (no table to get out of step), and each migration
runs in one transaction with its version bump, so a power cut mid-migration leaves the
previous version intact. A database from a newer station is refused, never downgraded.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from station import __version__
from station.errors import StorageError
from station.storage.db import APPLICATION_ID, schema_version

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every migration shipped with this station, in order; numbering must be 1..N."""
    found = []
    for entry in resources.files("station.storage").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StorageError(f"station install is damaged: migrations numbered {numbers}")
    return found


def latest_version() -> int:
    return len(load_migrations())


def refuse_newer(version: int, path: Path) -> None:
    current = latest_version()
    if version > current:
        raise StorageError(
            f"{path}: the database has schema version {version}, but this station "
            f"({__version__}) knows only up to version {current}. It was written by a newer "
            "station; update the station software (the file was left untouched, never "
            "downgraded)."
        )


def migrate(conn: sqlite3.Connection, path: Path, *, up_to: int | None = None) -> int:
    """Apply every migration after the database's version (up to ``up_to``, for tests
    that build old versions); returns the version reached."""
    migrations = load_migrations()
    target = len(migrations) if up_to is None else up_to
    version = schema_version(conn)
    refuse_newer(version, path)
    for mig in migrations:
        if mig.version <= version or mig.version > target:
            continue
        _apply(conn, mig, path)
        version = mig.version
    return version


def _apply(conn: sqlite3.Connection, mig: Migration, path: Path) -> None:
    # executescript commits any open transaction first, so BEGIN/COMMIT live inside the
    # script; the version bump commits together with the schema change.
    header = "BEGIN IMMEDIATE;\n"
    if mig.version == 1:
        header += f"PRAGMA application_id = {APPLICATION_ID};\n"
    script = f"{header}{mig.sql}\nPRAGMA user_version = {mig.version};\nCOMMIT;\n"
    try:
        conn.executescript(script)
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageError(
            f"{path}: migration {mig.version:04d}_{mig.name} failed ({exc}); the database "
            f"was left at version {mig.version - 1}. Report this with the file attached."
        ) from None
