"""The patient's journal (``store.journal``).

An entry is free text up to ``MAX_JOURNAL`` characters with an optional trigger (what set
the symptoms off); it is attached to the given session, else the running or paused one,
else the most recent one that ended within ``JOURNAL_ATTACH_WINDOW``; otherwise it is kept
on its own (e.g. before any session).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import to_text
from station.storage.models import JournalEntry
from station.storage.rows import _session_row, journal_from_row

JOURNAL_ATTACH_WINDOW = timedelta(hours=6)
MAX_JOURNAL = 4000
MAX_TRIGGER = 200


class JournalRepository:
    """``store.journal``: write an entry, list entries."""

    def __init__(self, db: Database):
        self._db = db

    def add(
        self, text: str, trigger: str | None = None, session_id: int | None = None
    ) -> JournalEntry:
        """A free-text entry with an optional trigger (what set the symptoms off)."""
        text = v.text("text", text, MAX_JOURNAL)
        trigger = v.text("trigger", trigger, MAX_TRIGGER, required=False)
        now = self._db.now()
        with self._db.tx() as conn:
            if session_id is not None:
                _session_row(conn, session_id)
            else:
                session_id = _attach_to(conn, to_text(now - JOURNAL_ATTACH_WINDOW))
            cur = conn.execute(
                'INSERT INTO journal (session_id, at, text, "trigger") VALUES (?, ?, ?, ?)',
                (session_id, to_text(now), text, trigger),
            )
            row = conn.execute("SELECT * FROM journal WHERE id = ?", (cur.lastrowid,)).fetchone()
        return journal_from_row(row)

    def entries(
        self, *, session_id: int | None = None, standalone: bool = False, limit: int = 200
    ) -> list[JournalEntry]:
        """Entries newest first: all, one session's, or only those kept on their own."""
        limit = v.integer("limit", limit, 1, 10000)
        sql, args = "SELECT * FROM journal", []
        if standalone:
            sql += " WHERE session_id IS NULL"
        elif session_id is not None:
            sql += " WHERE session_id = ?"
            args.append(session_id)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [journal_from_row(r) for r in rows]


def _attach_to(conn: sqlite3.Connection, recent_since: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM sessions WHERE state IN ('running','paused') ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:  # an armed session has not happened yet: not the one written about
        row = conn.execute(
            "SELECT id FROM sessions WHERE ended_at >= ? AND started_at IS NOT NULL "
            "ORDER BY ended_at DESC LIMIT 1",
            (recent_since,),
        ).fetchone()
    return row["id"] if row else None
