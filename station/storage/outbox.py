"""The outbox: what the station reports to its clinic hub, queued IN THE SAME TRANSACTION as
the record it reports (schema 7, ``0007_outbox.sql``).

Why a transactional outbox: the station works offline for days (home Wi-Fi) and a power
cut can come at any moment. A record written first and queued later could be lost between
the two; a report sent before the record commits could describe something the station
never kept. Here the repositories call these helpers with THEIR open transaction
(``conn`` from ``Database.tx()``), so the record and its outbox row commit together or not
at all; the sync agent (``station.sync``) publishes the rows later, in ``seq`` order.

Payloads follow the clinic's contract (``station.hub.messages``) minus ``station_id``
(configuration, added when published). Patients appear only as ``patients.global_id``,
the pseudonymous id; never a name. What is reported when:
- a session: once it ends (final state) after having started; with it, any of its steps
  not reported yet, and a fault record when a device fault ended it;
- a step: when the engine reports it finished (or with its session's end);
- a rating, a journal entry, a progression decision (again when it is revised): when
  written;
- adherence (derived, one per patient and finished day) and the answers to the hub's
  pushes: queued by the sync agent (``OutboxQueue``);
- outcome measures (VAS, flare, zone area, a session's discrimination score):
  ``outbox_outcomes.py``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from station.hub.messages import new_id

KINDS = (
    "session", "step", "rating", "journal", "decision", "adherence", "fault", "outcome", "ack"
)  # fmt: skip
# The station's progression actions (station.protocols.progression) in the contract's words.
DECISION_ACTIONS = {"advance": "up", "hold": "stay", "back": "down", "pause": "pause"}
FAULT_PREFIX = "fault on "  # the recorder's end reason for a device fault
# A session's columns reported as they are (the contract's names are the columns' names).
SESSION_FIELDS = (
    "protocol_id", "protocol_version", "ladder", "level", "state", "end_reason",
    "started_at", "ended_at", "planned_steps",
)  # fmt: skip


def new_global_id() -> str:
    """A UUIDv7 as text (sorts in time order), as the hub makes them."""
    return str(new_id())


def enqueue(
    conn: sqlite3.Connection,
    *,
    kind: str,
    payload: dict[str, Any],
    now: str,
    global_id: str | None = None,
    dedupe_key: str | None = None,
) -> str | None:
    """Queue one record in the caller's transaction; returns its global id, or None when
    a row with that id or ``dedupe_key`` is queued already (nothing is queued twice)."""
    if kind not in KINDS:
        raise ValueError(f"outbox kind {kind!r}: one of {', '.join(KINDS)}")
    gid = global_id or new_global_id()
    body = {**payload, "id": gid, "kind": kind}
    cur = conn.execute(
        "INSERT INTO outbox (global_id, kind, payload, dedupe_key, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (gid, kind, json.dumps(body, separators=(",", ":")), dedupe_key, now),
    )
    return gid if cur.rowcount == 1 else None


# -- references --------------------------------------------------------------------


def patient_global_id(conn: sqlite3.Connection, patient_id: int) -> str:
    row = conn.execute("SELECT global_id FROM patients WHERE id = ?", (patient_id,)).fetchone()
    if row is None:
        raise LookupError(f"no patient with id {patient_id}")
    return str(row[0])


def session_global_id(conn: sqlite3.Connection, session_id: int) -> str:
    """The session's global id (one is given to a row written without it)."""
    row = conn.execute("SELECT global_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise LookupError(f"no session with id {session_id}")
    if row[0]:
        return str(row[0])
    gid = new_global_id()
    conn.execute("UPDATE sessions SET global_id = ? WHERE id = ?", (gid, session_id))
    return gid


def _assign(conn: sqlite3.Connection, table: str, row_id: int) -> str | None:
    """Give ``table``'s row its global id if it has none; None when it had one (it was
    queued already)."""
    gid = new_global_id()
    cur = conn.execute(
        f"UPDATE {table} SET global_id = ? WHERE id = ? AND global_id IS NULL", (gid, row_id)
    )
    return gid if cur.rowcount == 1 else None


def _queue(
    conn: sqlite3.Connection,
    kind: str,
    row: sqlite3.Row,
    *,
    now: str,
    gid: str | None = None,
    **fields: Any,
) -> None:
    """Queue a record of ``row`` (a patient's; a session's when it has ``session_id``):
    its references as global ids, then ``fields``."""
    refs: dict[str, Any] = {"patient_id": patient_global_id(conn, row["patient_id"])}
    if "session_id" in row.keys():  # noqa: SIM118 (on a sqlite3.Row, `in` looks at values)
        sid = row["session_id"]
        refs["session_id"] = session_global_id(conn, sid) if sid is not None else None
    enqueue(conn, kind=kind, global_id=gid, now=now, payload={**refs, **fields})


# -- what the repositories call, inside their transaction ---------------------------


def session_ended(conn: sqlite3.Connection, session_id: int, *, now: str) -> None:
    """A session reached its final state: report it (if it ever started), its steps not
    reported yet, and the device fault that ended it."""
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None or row["started_at"] is None or row["ended_at"] is None:
        return  # armed, never played: not a session anyone had (sessions.PLAYED)
    gid = session_global_id(conn, session_id)
    for step in conn.execute(
        "SELECT id FROM steps WHERE session_id = ? AND global_id IS NULL ORDER BY step_index",
        (session_id,),
    ).fetchall():
        _queue_step(conn, step["id"], now=now)
    delivered = conn.execute(
        "SELECT count(*) FROM steps WHERE session_id = ?", (session_id,)
    ).fetchone()[0]
    _queue(
        conn,
        "session",
        row,
        now=now,
        gid=gid,
        at=row["ended_at"],
        local_id=row["id"],
        **{k: row[k] for k in SESSION_FIELDS},
        delivered_steps=delivered,
    )
    from station.storage import outbox_outcomes

    outbox_outcomes.session_scored(conn, session_id, at=row["ended_at"], now=now)
    reason = row["end_reason"] or ""
    if reason.startswith(FAULT_PREFIX):
        device, _, message = reason[len(FAULT_PREFIX) :].partition(": ")
        _queue(
            conn,
            "fault",
            row,
            now=now,
            at=row["ended_at"],
            device=device[:48] or "unknown",
            fault=(message.strip() or "fault")[:48],
            detail=reason[:300],
        )


def step_finished(conn: sqlite3.Connection, session_id: int, step_index: int, *, now: str) -> None:
    """The engine reported a step finished: report it unless it was already."""
    row = conn.execute(
        "SELECT id, finished_at FROM steps WHERE session_id = ? AND step_index = ? "
        "AND global_id IS NULL",
        (session_id, step_index),
    ).fetchone()
    if row is not None and row["finished_at"] is not None:
        _queue_step(conn, row["id"], now=now)


def _queue_step(conn: sqlite3.Connection, step_id: int, *, now: str) -> None:
    gid = _assign(conn, "steps", step_id)
    if gid is None:
        return
    row = conn.execute(
        "SELECT steps.*, sessions.patient_id FROM steps JOIN sessions "
        "ON sessions.id = steps.session_id WHERE steps.id = ?",
        (step_id,),
    ).fetchone()
    _queue(
        conn,
        "step",
        row,
        now=now,
        gid=gid,
        at=row["finished_at"] or row["started_at"],
        step_index=row["step_index"],
        step_kind=row["kind"],
        label=row["label"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def rating_added(conn: sqlite3.Connection, rating_id: int, *, now: str) -> None:
    gid = _assign(conn, "ratings", rating_id)
    if gid is None:
        return
    row = conn.execute(
        "SELECT ratings.*, sessions.patient_id FROM ratings JOIN sessions "
        "ON sessions.id = ratings.session_id WHERE ratings.id = ?",
        (rating_id,),
    ).fetchone()
    lingering = row["lingering"]
    _queue(
        conn,
        "rating",
        row,
        now=now,
        gid=gid,
        at=row["at"],
        step_index=row["step_index"],
        live=bool(row["live"]),
        value=row["value"],
        pleasantness=row["pleasantness"],
        lingering=None if lingering is None else bool(lingering),
    )


def journal_added(conn: sqlite3.Connection, entry_id: int, *, now: str) -> None:
    gid = _assign(conn, "journal", entry_id)
    if gid is None:
        return
    row = conn.execute("SELECT * FROM journal WHERE id = ?", (entry_id,)).fetchone()
    _queue(
        conn, "journal", row, now=now, gid=gid, at=row["at"], text=row["text"],
        trigger=row["trigger"],
    )  # fmt: skip


def decision_recorded(conn: sqlite3.Connection, decision_id: int, *, now: str) -> None:
    """A progression decision, written or revised: each is reported (a revision as a new
    record with its own id: the hub keeps what the station decided, in order)."""
    row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    gid = new_global_id()
    conn.execute("UPDATE decisions SET global_id = ? WHERE id = ?", (gid, decision_id))
    _queue(
        conn,
        "decision",
        row,
        now=now,
        gid=gid,
        at=row["at"],
        ladder=row["ladder"],
        action=DECISION_ACTIONS.get(row["action"], row["action"]),
        from_level=row["from_level"],
        to_level=row["to_level"],
        reason=row["reason"][:300],
    )
