"""Outcome measures (``store.outcomes``, schema 6): the clinician's schedule and what the
patient reports between visits.

The schedule says which measures the clinician wants and every how many days: VAS
(0-100 at rest, in use, on touch), the zone's area (a body map), the detection threshold
re-measured (``station.thresholds``) and discrimination accuracy (discrimination
training). Entries are the patient's VAS, flares (with a note) and medication taken;
never updated. What is due, and the trends, are read from here and from the other
repositories by ``station.storage.outcome_report``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from station.errors import InvalidInput
from station.storage import outbox_outcomes
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text
from station.storage.models import _Record

MEASURES: tuple[str, ...] = ("vas", "zone_area", "detection_threshold", "discrimination")
KINDS: tuple[str, ...] = ("vas", "flare", "medication")
MAX_EVERY_DAYS = 365
MAX_NOTE = 2000
VAS_FIELDS = ("rest", "use", "touch")


@dataclass(frozen=True)
class ScheduledMeasure(_Record):
    measure: str
    every_days: int
    since: datetime  # when the clinician asked for it at this interval
    by: str | None


@dataclass(frozen=True)
class OutcomeEntry(_Record):
    id: int
    at: datetime
    kind: Literal["vas", "flare", "medication"]
    vas_rest: int | None
    vas_use: int | None
    vas_touch: int | None
    medication: str | None
    dose: str | None
    note: str
    by: str | None


class OutcomeRepository:
    """``store.outcomes``: one patient's schedule and entries."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id

    # -- the schedule ---------------------------------------------------------------------

    def schedule(self) -> list[ScheduledMeasure]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM outcome_schedule WHERE patient_id = ?", (self._pid,)
            ).fetchall()
        found = {r["measure"]: _measure(r) for r in rows}
        return [found[m] for m in MEASURES if m in found]

    def set_schedule(
        self, every: dict[str, int], *, by: str | None = None
    ) -> list[ScheduledMeasure]:
        """Replace the schedule: ``{measure: every_days}``; a measure left out is no longer
        asked for. A measure kept at the same interval keeps its start (``since``)."""
        if not isinstance(every, dict):
            raise InvalidInput("measures", every, "a map of measure -> every how many days")
        checked = {
            v.choice("measure", m, MEASURES): v.integer(
                f"measures.{m}.every_days", d, 1, MAX_EVERY_DAYS
            )
            for m, d in every.items()
        }
        by = v.text("by", by, v.MAX_NAME, required=False)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            old = {
                r["measure"]: r
                for r in conn.execute(
                    "SELECT * FROM outcome_schedule WHERE patient_id = ?", (self._pid,)
                ).fetchall()
            }
            conn.execute("DELETE FROM outcome_schedule WHERE patient_id = ?", (self._pid,))
            for measure, days in checked.items():
                prev = old.get(measure)
                keep = prev is not None and prev["every_days"] == days
                conn.execute(
                    "INSERT INTO outcome_schedule (patient_id, measure, every_days, since, by) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        self._pid,
                        measure,
                        days,
                        prev["since"] if keep and prev else now,
                        prev["by"] if keep and prev else by,
                    ),
                )
        return self.schedule()

    # -- entries --------------------------------------------------------------------------

    def add_vas(
        self,
        *,
        rest: int | None = None,
        use: int | None = None,
        touch: int | None = None,
        note: str = "",
        by: str | None = None,
    ) -> OutcomeEntry:
        """VAS 0-100 (0 no pain, 100 worst imaginable); at least one of the three."""
        given = zip(VAS_FIELDS, (rest, use, touch), strict=True)
        values = {f: v.optional_int(f, x, 0, 100) for f, x in given}
        if all(x is None for x in values.values()):
            allowed = "at least one of rest, use, touch (0..100)"
            raise InvalidInput("rest", None, allowed, f"a VAS entry needs {allowed}")
        return self._add("vas", vas=values, note=note, by=by)

    def add_flare(self, *, note: str = "", by: str | None = None) -> OutcomeEntry:
        return self._add("flare", note=note, by=by)

    def add_medication(
        self, *, medication: str, dose: str | None = None, note: str = "", by: str | None = None
    ) -> OutcomeEntry:
        name = v.text("medication", medication, v.MAX_TEXT_SHORT)
        amount = v.text("dose", dose, v.MAX_TEXT_SHORT, required=False)
        return self._add("medication", medication=name, dose=amount, note=note, by=by)

    def entries(self, *, kind: str | None = None, limit: int = 1000) -> list[OutcomeEntry]:
        """Oldest first: the newest ``limit`` entries (of ``kind``)."""
        sql = "SELECT * FROM outcome_entries WHERE patient_id = ?"
        args: list[Any] = [self._pid]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(v.choice("kind", kind, KINDS))
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        args.append(v.integer("limit", limit, 1, 100_000))
        with self._db.read() as conn:
            rows = conn.execute(sql, tuple(args)).fetchall()
        return [_entry(r) for r in reversed(rows)]

    def _add(
        self,
        kind: str,
        *,
        vas: dict[str, int | None] | None = None,
        medication: str | None = None,
        dose: str | None = None,
        note: str = "",
        by: str | None = None,
    ) -> OutcomeEntry:
        note = v.text("note", note, MAX_NOTE, required=False) or ""
        by = v.text("by", by, v.MAX_NAME, required=False)
        vas = vas or {}
        with self._db.tx() as conn:
            cur = conn.execute(
                """INSERT INTO outcome_entries (patient_id, at, kind, vas_rest, vas_use,
                       vas_touch, medication, dose, note, by)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    self._pid, to_text(self._db.now()), kind, vas.get("rest"), vas.get("use"),
                    vas.get("touch"), medication, dose, note, by,
                ),
            )  # fmt: skip
            row = conn.execute(
                "SELECT * FROM outcome_entries WHERE id = ?", (inserted_id(cur),)
            ).fetchone()
            outbox_outcomes.entry_added(conn, row["id"], now=row["at"])  # the hub's copy
        return _entry(row)


def _measure(row: sqlite3.Row) -> ScheduledMeasure:
    return ScheduledMeasure(
        measure=row["measure"],
        every_days=row["every_days"],
        since=parse_time(row["since"]),
        by=row["by"],
    )


def _entry(row: sqlite3.Row) -> OutcomeEntry:
    return OutcomeEntry(
        id=row["id"],
        at=parse_time(row["at"]),
        kind=row["kind"],
        vas_rest=row["vas_rest"],
        vas_use=row["vas_use"],
        vas_touch=row["vas_touch"],
        medication=row["medication"],
        dose=row["dose"],
        note=row["note"],
        by=row["by"],
    )
