"""Patient records (``store.patients``): who the station's plans, sessions and journals
belong to.

A patient record has a pseudonymous global id (a UUID: what leaves the station for the
clinic hub, never the name), the display name the clinician chose, the clinician's
notes, the enrolment day and an archived flag. Records are never deleted: archiving
hides a patient from the station's choices, their record stays.

Every other repository is bound to one patient (``Store.for_patient``); this one and
``store.users`` are the station's own.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text
from station.storage.limits import local
from station.storage.models import _Record

MAX_NOTES = 4000


@dataclass(frozen=True)
class Patient(_Record):
    id: int
    global_id: str
    display_name: str
    notes: str
    enrolled_on: date
    created_at: datetime
    archived: bool


class PatientRequired(Conflict):
    """A station-wide store was asked for "the patient" while it serves several."""

    def __init__(self, count: int):
        self.count = count
        super().__init__(
            f"this station serves {count} patients; choose one (the clinician activates a "
            "patient, or the code asks store.for_patient(patient_id))"
            if count
            else "this station has no active patient; add one (`station patient add NAME`)"
        )


class PatientRepository:
    """``store.patients``: add, list, get, change notes or name, archive."""

    def __init__(self, db: Database):
        self._db = db

    def add(
        self, display_name: str, *, notes: str = "", enrolled_on: date | None = None
    ) -> Patient:
        name = v.text("display_name", display_name, v.MAX_NAME)
        notes = v.text("notes", notes, MAX_NOTES, required=False) or ""
        now = self._db.now()
        day = _day(enrolled_on) if enrolled_on is not None else local(now, self._db.tz).date()
        with self._db.tx() as conn:
            _refuse_duplicate(conn, name, None)
            cur = conn.execute(
                """INSERT INTO patients (global_id, display_name, notes, enrolled_on,
                       created_at) VALUES (?, ?, ?, ?, ?)""",
                (str(uuid.uuid4()), name, notes, day.isoformat(), to_text(now)),
            )
            pid = inserted_id(cur)
        return self.get(pid)

    def get(self, patient_id: int) -> Patient:
        pid = _id(patient_id)
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise NotFound(f"no patient with id {pid}; list the patients to find the right one")
        return _patient(row)

    def list(self, *, include_archived: bool = False) -> list[Patient]:
        sql = "SELECT * FROM patients"
        if not include_archived:
            sql += " WHERE archived = 0"
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id").fetchall()
        return [_patient(r) for r in rows]

    def update(
        self, patient_id: int, *, notes: str | None = None, display_name: str | None = None
    ) -> Patient:
        """Change the clinician's notes and/or the display name (None: unchanged)."""
        pid = _id(patient_id)
        new_notes = None if notes is None else v.text("notes", notes, MAX_NOTES, required=False)
        name = None if display_name is None else v.text("display_name", display_name, v.MAX_NAME)
        with self._db.tx() as conn:
            self._row(conn, pid)
            if name is not None:
                _refuse_duplicate(conn, name, pid)
            conn.execute(
                "UPDATE patients SET notes = coalesce(?, notes), "
                "display_name = coalesce(?, display_name) WHERE id = ?",
                ("" if notes is not None and new_notes is None else new_notes, name, pid),
            )
        return self.get(pid)

    def archive(self, patient_id: int, *, archived: bool = True) -> Patient:
        """Hide (or show again) a patient in the station's choices; the record stays.
        Refused while one of the patient's sessions is armed, running or paused."""
        pid = _id(patient_id)
        with self._db.tx() as conn:
            self._row(conn, pid)
            live = conn.execute(
                "SELECT id, state FROM sessions WHERE patient_id = ? AND state IN "
                "('armed','running','paused')",
                (pid,),
            ).fetchone()
            if archived and live is not None and live["state"] != "armed":
                raise Conflict(f"session {live['id']} of this patient is {live['state']}; "
                               "stop it before archiving the patient")  # fmt: skip
            conn.execute("UPDATE patients SET archived = ? WHERE id = ?", (int(archived), pid))
        return self.get(pid)

    def sole_id(self) -> int:
        """The station's one active patient (a home station); ``PatientRequired`` when
        there are none or several."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT id FROM patients WHERE archived = 0 LIMIT 2").fetchall()
            if len(rows) == 1:
                return int(rows[0][0])
            count = conn.execute("SELECT count(*) FROM patients WHERE archived = 0").fetchone()[0]
        raise PatientRequired(int(count))

    def exists(self, patient_id: int) -> bool:
        with self._db.read() as conn:
            return (
                conn.execute("SELECT 1 FROM patients WHERE id = ?", (_id(patient_id),)).fetchone()
                is not None
            )

    @staticmethod
    def _row(conn: sqlite3.Connection, pid: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise NotFound(f"no patient with id {pid}; list the patients to find the right one")
        return row


def _id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("patient_id", value, "a patient id (a whole number, 1 or more)")
    return value


def _day(value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("enrolled_on", value, "a date (YYYY-MM-DD)")
    return value


def _refuse_duplicate(conn: sqlite3.Connection, name: str, pid: int | None) -> None:
    row = conn.execute(
        "SELECT id FROM patients WHERE display_name = ? COLLATE NOCASE AND id IS NOT ?",
        (name, pid),
    ).fetchone()
    if row is not None:
        raise Conflict(
            f"a patient named {name!r} exists already (id {row[0]}); choose another display "
            "name (e.g. add an initial or a number)"
        )


def _patient(row: sqlite3.Row) -> Patient:
    return Patient(
        id=row["id"],
        global_id=row["global_id"],
        display_name=row["display_name"],
        notes=row["notes"],
        enrolled_on=date.fromisoformat(row["enrolled_on"]),
        created_at=parse_time(row["created_at"]),
        archived=bool(row["archived"]),
    )
