"""Outcome measures in the outbox (issue 16 at the hub): each queued IN THE SAME
TRANSACTION as the record it reports, as ``outbox.py`` does for sessions and ratings.

What is reported (``station.hub.messages.OutcomeRecord``):
- a VAS entry (0-100 mm at rest, in use, on touch) and a flare (with its note): when
  written (``store.outcomes``);
- a body map's zone area (cm^2, per outline): when the map is stored (``store.bodymaps``);
- a session's discrimination score (trials, correct, missed): with the session's end
  (``outbox.session_ended``), when the session had discrimination trials.
Medication entries stay at the station (not in the hub's contract).

Each row is queued once: its ``dedupe_key`` is ``outcome:<table>:<id>``.
"""

from __future__ import annotations

import sqlite3

from station.storage.outbox import enqueue, patient_global_id, session_global_id

REPORTED = {"vas": "vas", "flare": "flare"}  # outcome_entries.kind -> measure


def entry_added(conn: sqlite3.Connection, entry_id: int, *, now: str) -> None:
    row = conn.execute("SELECT * FROM outcome_entries WHERE id = ?", (entry_id,)).fetchone()
    measure = REPORTED.get(row["kind"]) if row is not None else None
    if measure is None:
        return
    payload = {
        "at": row["at"],
        "patient_id": patient_global_id(conn, row["patient_id"]),
        "measure": measure,
        "local_id": row["id"],
        "note": row["note"] or "",
    }
    if measure == "vas":
        payload |= {"vas_rest": row["vas_rest"], "vas_use": row["vas_use"]}
        payload["vas_touch"] = row["vas_touch"]
    enqueue(conn, kind="outcome", payload=payload, now=now, dedupe_key=f"outcome:entry:{entry_id}")


def body_map_added(conn: sqlite3.Connection, map_id: int, *, now: str) -> None:
    row = conn.execute("SELECT * FROM body_maps WHERE id = ?", (map_id,)).fetchone()
    enqueue(
        conn,
        kind="outcome",
        now=now,
        dedupe_key=f"outcome:body_map:{map_id}",
        payload={
            "at": row["at"],
            "patient_id": patient_global_id(conn, row["patient_id"]),
            "measure": "zone_area",
            "local_id": row["id"],
            "outline": row["outline"],
            "area_cm2": round(float(row["area_cm2"]), 2),
            "note": row["note"] or "",
        },
    )


def session_scored(conn: sqlite3.Connection, session_id: int, *, at: str, now: str) -> None:
    """The discrimination score of a session that had trials (none: nothing queued)."""
    trials, correct, missed = conn.execute(
        "SELECT count(*), coalesce(sum(correct), 0), coalesce(sum(missed), 0) "
        "FROM discrimination_trials WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if not trials:
        return
    patient = conn.execute("SELECT patient_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
    enqueue(
        conn,
        kind="outcome",
        now=now,
        dedupe_key=f"outcome:discrimination:{session_id}",
        payload={
            "at": at,
            "patient_id": patient_global_id(conn, patient[0]),
            "measure": "discrimination",
            "local_id": session_id,
            "session_id": session_global_id(conn, session_id),
            "trials": trials,
            "correct": correct,
            "missed": missed,
        },
    )
