"""Reminders shown to the patient, for the adherence log (``store.reminders``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text

REMINDER_KINDS = ("due", "missed", "snoozed", "dismissed")


class ReminderRepository:
    """``store.reminders``: record one, list those in a time range."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def record(self, kind: str = "due", at: datetime | None = None) -> int:
        """A reminder shown to the patient (for the adherence log)."""
        kind = v.choice("kind", kind, REMINDER_KINDS)
        when = to_text(at if at is not None else self._db.now(), "at")
        with self._db.tx() as conn:
            cur = conn.execute(
                "INSERT INTO reminders (at, kind, patient_id) VALUES (?, ?, ?)",
                (when, kind, self._pid),
            )
            return inserted_id(cur)

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM reminders WHERE patient_id = ? AND at >= ? AND at < ? ORDER BY id",
                (self._pid, to_text(start, "start"), to_text(end, "end")),
            ).fetchall()
        return [{"id": r["id"], "at": parse_time(r["at"]), "kind": r["kind"]} for r in rows]
