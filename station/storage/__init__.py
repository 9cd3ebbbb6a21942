"""The station's record in SQLite: ``Store`` and its repositories own the database.

Nothing outside this package writes SQL. Open with ``Store.open(data_dir)`` and reach
each concept through its repository: ``store.sessions``, ``store.ratings``,
``store.journal``, ``store.progress``, ``store.reminders``, ``store.users``,
``store.plans`` (one ``Database`` connection shared by all). The records they hand out
are in ``station.storage.models``; exports are in ``station.storage.export`` and
backup/restore in ``station.storage.backup``.
"""

from station.storage.store import Store

__all__ = ["Store"]
