"""The station's sessions across patients: one engine serves every patient, so a few
questions are the station's, not one patient's (``station.app.patients``, restore)."""

from __future__ import annotations

from station.storage.database import Database
from station.storage.sessions import SessionRepository


def station_live(db: Database) -> tuple[int, str, int] | None:
    """The station's armed, running or paused session, whoever's it is: (id, state,
    patient id). Only the coordinator asks this (one engine serves every patient)."""
    with db.read() as conn:
        row = conn.execute(
            "SELECT id, state, patient_id FROM sessions WHERE state IN "
            "('armed','running','paused') ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None


def latest_session_patient(db: Database, *, among: set[int]) -> int | None:
    """The patient (of ``among``) whose session was armed last, or None."""
    if not among:
        return None
    with db.read() as conn:
        row = conn.execute(
            f"SELECT patient_id FROM sessions WHERE patient_id IN ({','.join('?' * len(among))}) "
            "ORDER BY id DESC LIMIT 1",
            tuple(sorted(among)),
        ).fetchone()
    return int(row[0]) if row else None


def abort_all_unfinished(db: Database, reason: str) -> list[int]:
    """``abort_unfinished`` for every patient (a restore, a start-up)."""
    with db.read() as conn:
        pids = [r[0] for r in conn.execute("SELECT id FROM patients ORDER BY id").fetchall()]
    out: list[int] = []
    for pid in pids:
        out += SessionRepository(db, patient_id=pid).abort_unfinished(reason)
    return sorted(out)
