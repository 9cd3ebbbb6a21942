"""The patient's journal (``store.journal``).

An entry is free text up to ``MAX_JOURNAL`` characters with an optional trigger (what set
the symptoms off); it is attached to the given session, else the running or paused one,
else the most recent one that ended within ``JOURNAL_ATTACH_WINDOW``; otherwise it is kept
on its own (e.g. before any session).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from station.storage import outbox
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, to_text
from station.storage.models import JournalEntry
from station.storage.rows import _session_row, journal_from_row

JOURNAL_ATTACH_WINDOW = timedelta(hours=6)
MAX_JOURNAL = 4000
MAX_TRIGGER = 200


class JournalRepository:
    """``store.journal``: write an entry, list entries."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def add(
        self,
        text: str,
        trigger: str | None = None,
        session_id: int | None = None,
        *,
        by: str | None = None,
    ) -> JournalEntry:
        """A free-text entry with an optional trigger (what set the symptoms off), and who
        wrote it (``by``: "patient:NAME", "clinician:NAME")."""
        text = v.text("text", text, MAX_JOURNAL)
        by = v.text("by", by, v.MAX_TEXT_SHORT, required=False)
        trigger = v.text("trigger", trigger, MAX_TRIGGER, required=False)
        now = self._db.now()
        with self._db.tx() as conn:
            if session_id is not None:
                _session_row(conn, session_id, patient_id=self._pid)
            else:
                session_id = _attach_to(conn, to_text(now - JOURNAL_ATTACH_WINDOW), self._pid)
            cur = conn.execute(
                'INSERT INTO journal (session_id, at, text, "trigger", patient_id, by) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, to_text(now), text, trigger, self._pid, by),
            )
            outbox.journal_added(conn, inserted_id(cur), now=to_text(now))  # the hub's copy
            row = conn.execute("SELECT * FROM journal WHERE id = ?", (cur.lastrowid,)).fetchone()
        return journal_from_row(row)

    def entries(
        self, *, session_id: int | None = None, standalone: bool = False, limit: int = 200
    ) -> list[JournalEntry]:
        """Entries newest first: all, one session's, or only those kept on their own."""
        limit = v.integer("limit", limit, 1, 10000)
        sql, args = "SELECT * FROM journal WHERE patient_id = ?", [self._pid]
        if standalone:
            sql += " AND session_id IS NULL"
        elif session_id is not None:
            sql += " AND session_id = ?"
            args.append(session_id)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [journal_from_row(r) for r in rows]


def _attach_to(conn: sqlite3.Connection, recent_since: str, patient_id: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM sessions WHERE state IN ('running','paused') AND patient_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (patient_id,),
    ).fetchone()
    if row is None:  # an armed session has not happened yet: not the one written about
        row = conn.execute(
            "SELECT id FROM sessions WHERE ended_at >= ? AND started_at IS NOT NULL "
            "AND patient_id = ? ORDER BY ended_at DESC LIMIT 1",
            (recent_since, patient_id),
        ).fetchone()
    return row["id"] if row else None
