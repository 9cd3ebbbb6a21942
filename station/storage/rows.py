"""Row -> record conversion and lookups shared by the store's repositories."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from station.errors import InvalidInput, NotFound
from station.storage.db import from_text, parse_time
from station.storage.models import DecisionRecord, JournalEntry, Rating, Session, Step, Transition


def _session_row(conn: sqlite3.Connection, session_id: Any, *, patient_id: int) -> sqlite3.Row:
    """The session ``session_id`` OF ``patient_id``: another patient's session is
    ``NotFound`` exactly like one that does not exist (never confirm it exists)."""
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise InvalidInput("session_id", session_id, "a session id (a whole number)")
    row = conn.execute(
        "SELECT * FROM sessions WHERE id = ? AND patient_id = ?", (session_id, patient_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no session with id {session_id}; list sessions to find the right one")
    return row


def _check_step_index(step_index: int, row: sqlite3.Row) -> None:
    if step_index >= row["planned_steps"]:
        raise InvalidInput(
            "step_index",
            step_index,
            f"0 to {row['planned_steps'] - 1}",
            f"step_index = {step_index}: session {row['id']} has {row['planned_steps']} steps "
            f"(0 to {row['planned_steps'] - 1})",
        )


def _program(row: sqlite3.Row) -> dict[str, Any]:
    return json.loads(row["program_json"])


def _session(row: sqlite3.Row, **details: Any) -> Session:
    return Session(
        id=row["id"],
        protocol_id=row["protocol_id"],
        protocol_version=row["protocol_version"],
        protocol_hash=row["protocol_hash"],
        ladder=row["ladder"],
        level=row["level"],
        level_name=row["level_name"],
        planned_steps=row["planned_steps"],
        state=row["state"],
        created_at=parse_time(row["created_at"]),
        started_at=from_text(row["started_at"]),
        ended_at=from_text(row["ended_at"]),
        end_reason=row["end_reason"],
        ended_by=row["ended_by"],
        sessions_per_day=row["sessions_per_day"],
        min_gap_minutes=row["min_gap_minutes"],
        **details,
    )


def _details(conn: sqlite3.Connection, sid: int) -> dict[str, Any]:
    steps = tuple(
        Step(
            r["step_index"],
            r["kind"],
            r["label"],
            parse_time(r["started_at"]),
            from_text(r["finished_at"]),
            json.loads(r["delivered_json"]),
        )
        for r in conn.execute(
            "SELECT * FROM steps WHERE session_id = ? ORDER BY step_index", (sid,)
        )
    )
    ratings = tuple(
        rating_from_row(r)
        for r in conn.execute("SELECT * FROM ratings WHERE session_id = ? ORDER BY id", (sid,))
    )
    journal = tuple(
        journal_from_row(r)
        for r in conn.execute("SELECT * FROM journal WHERE session_id = ? ORDER BY id", (sid,))
    )
    transitions = tuple(
        Transition(parse_time(r["at"]), r["from_state"], r["to_state"], r["reason"], r["by"])
        for r in conn.execute(
            "SELECT * FROM session_transitions WHERE session_id = ? ORDER BY id", (sid,)
        )
    )
    d = conn.execute("SELECT * FROM decisions WHERE session_id = ?", (sid,)).fetchone()
    return {
        "steps": steps,
        "ratings": ratings,
        "journal": journal,
        "transitions": transitions,
        "decision": decision_from_row(d) if d else None,
    }


def rating_from_row(r: sqlite3.Row) -> Rating:
    return Rating(
        id=r["id"],
        session_id=r["session_id"],
        step_index=r["step_index"],
        at=parse_time(r["at"]),
        live=bool(r["live"]),
        value=r["value"],
        pleasantness=r["pleasantness"],
        lingering=None if r["lingering"] is None else bool(r["lingering"]),
        lingering_where=r["lingering_where"],
        by=r["by"],
    )


def journal_from_row(r: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        id=r["id"],
        session_id=r["session_id"],
        at=parse_time(r["at"]),
        text=r["text"],
        trigger=r["trigger"],
        by=r["by"],
    )


def decision_from_row(r: sqlite3.Row) -> DecisionRecord:
    return DecisionRecord(
        id=r["id"],
        session_id=r["session_id"],
        at=parse_time(r["at"]),
        ladder=r["ladder"],
        action=r["action"],
        from_level=r["from_level"],
        to_level=r["to_level"],
        reason=r["reason"],
    )
