"""``Store``: the station's record, one SQLite file reached through small repositories.

``store.sessions``, ``store.ratings``, ``store.journal``, ``store.progress``,
``store.reminders``, ``store.users`` and ``store.plans`` each own one concept's SQL and
share one ``Database`` (the connection, its lock and the clock; see
``station.storage.database`` for why one serialised connection). This module opens the
file safely (integrity check, pragmas, migrations) and closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from station.errors import StorageError
from station.storage.database import Database
from station.storage.db import (
    apply_pragmas,
    check_integrity,
    connect,
    db_path,
    schema_version,
    utc_now,
)
from station.storage.journal import JournalRepository
from station.storage.migrations import migrate, refuse_newer
from station.storage.plans import PlanRepository
from station.storage.progress import ProgressRepository
from station.storage.ratings import RatingRepository
from station.storage.reminders import ReminderRepository
from station.storage.sessions import SessionRepository
from station.storage.users import UserRepository


class Store:
    """The station's record. Open with ``Store.open(data_dir)``; close with ``close()``
    or use it as a context manager."""

    def __init__(self, db: Database):
        self.db = db
        self.sessions = SessionRepository(db)
        self.ratings = RatingRepository(db)
        self.journal = JournalRepository(db)
        self.progress = ProgressRepository(db)
        self.reminders = ReminderRepository(db)
        self.users = UserRepository(db)
        self.plans = PlanRepository(db)

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
        return cls(Database(conn=conn, path=path, clock=clock, tz=tz))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def tz(self) -> tzinfo | None:
        """The zone for "per day" limits and report days (None: the system's)."""
        return self.db.tz

    @property
    def schema_version(self) -> int:
        with self.db.read() as conn:
            return schema_version(conn)

    def now(self) -> datetime:
        return self.db.now()
