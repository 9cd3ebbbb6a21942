"""The station's record in SQLite: one module (``Store``) owns the database.

Nothing outside this package writes SQL. Open with ``Store.open(data_dir)``; exports are in
``station.storage.export`` and backup/restore in ``station.storage.backup``.
"""

from station.errors import Conflict, InvalidInput, NotAllowed, NotFound, StorageError
from station.storage.limits import LimitCheck, check_limits
from station.storage.migrations import latest_version
from station.storage.models import (
    DEFAULT_LADDER,
    DecisionRecord,
    JournalEntry,
    LevelChange,
    Plan,
    Rating,
    Session,
    Step,
    Transition,
    User,
)
from station.storage.store import Store

__all__ = [
    "DEFAULT_LADDER",
    "Conflict",
    "DecisionRecord",
    "InvalidInput",
    "JournalEntry",
    "LevelChange",
    "LimitCheck",
    "NotAllowed",
    "NotFound",
    "Plan",
    "Rating",
    "Session",
    "Step",
    "StorageError",
    "Store",
    "Transition",
    "User",
    "check_limits",
    "latest_version",
]
