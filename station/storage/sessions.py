"""Session lifecycle and what each step actually delivered (``store.sessions``).

States: armed -> running <-> paused -> completed | stopped; any non-final state may become
aborted (engine crash, power loss: found by ``abort_unfinished`` at the next start-up).
Final states are final. Steps are written from the ENGINE's events, so the record says
what reached the skin, not what the program planned.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from station.errors import Conflict, InvalidInput, NotAllowed
from station.storage import outbox
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import from_text, inserted_id, parse_time, to_text
from station.storage.limits import LimitCheck, PastSession, check_limits
from station.storage.models import DEFAULT_LADDER, FINAL_STATES, TRANSITIONS, Session
from station.storage.rows import _check_step_index, _details, _program, _session, _session_row

MAX_PROGRAM_BYTES = 1024 * 1024
# A session is in the record a person reads (lists, history, export, report, adherence)
# once it started. Arming writes a row (the engine's events need its id, and a crash while
# armed must be found at start-up), but a program armed and then replaced, disarmed or
# stopped before anyone pressed start delivered nothing: it is not a session. The rows stay
# (ids are never reused, the transitions say what the station did), filtered here.
PLAYED = "started_at IS NOT NULL"
STATES = tuple(TRANSITIONS)


class SessionRepository:
    """``store.sessions``: create, move through the lifecycle, read back, check limits."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def create(
        self,
        protocol_id: str,
        protocol_version: str,
        protocol_hash: str,
        level: int,
        program_json: str | dict[str, Any],
        planned_steps: int,
        *,
        ladder: str = DEFAULT_LADDER,
        level_name: str | None = None,
        sessions_per_day: int | None = None,
        min_gap_minutes: int | None = None,
    ) -> int:
        """Record an armed program; returns the session id. A session still armed from
        before is replaced (it becomes ``stopped``, reason "disarmed", nothing was
        delivered); a running or paused one is a ``Conflict``. The limits are the
        protocol's, kept with the session for the start check and adherence."""
        protocol_id = v.name("protocol_id", protocol_id)
        protocol_version = v.name("protocol_version", protocol_version)
        protocol_hash = v.text("protocol_hash", protocol_hash, 128)
        level = v.integer("level", level, 0)
        planned_steps = v.integer("planned_steps", planned_steps, 0)
        ladder = v.name("ladder", ladder)
        level_name = v.text("level_name", level_name, v.MAX_NAME, required=False)
        sessions_per_day = v.optional_int("sessions_per_day", sessions_per_day, 1, 1000)
        min_gap_minutes = v.optional_int("min_gap_minutes", min_gap_minutes, 0, 7 * 24 * 60)
        program = _program_text(program_json)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            # One engine: the station's live session, whoever's it is, decides. Another
            # patient's session is not named (nor its id given) to this patient.
            for row in conn.execute(
                "SELECT id, state, patient_id FROM sessions "
                "WHERE state IN ('armed','running','paused')"
            ).fetchall():
                if row["state"] != "armed":
                    which = (
                        f"session {row['id']}"
                        if row["patient_id"] == self._pid
                        else "another patient's session"
                    )
                    raise Conflict(f"{which} is {row['state']}; stop it before arming another")
            cur = conn.execute(
                """INSERT INTO sessions (protocol_id, protocol_version, protocol_hash, level,
                       program_json, planned_steps, state, created_at, ladder, level_name,
                       sessions_per_day, min_gap_minutes, patient_id, global_id)
                   VALUES (?, ?, ?, ?, ?, ?, 'armed', ?, ?, ?, ?, ?, ?, ?)""",
                (
                    protocol_id,
                    protocol_version,
                    protocol_hash,
                    level,
                    program,
                    planned_steps,
                    now,
                    ladder,
                    level_name,
                    sessions_per_day,
                    min_gap_minutes,
                    self._pid,
                    outbox.new_global_id(),  # the session's id at the clinic hub
                ),
            )
            new_id = inserted_id(cur)
            for row in conn.execute(
                "SELECT id, patient_id FROM sessions WHERE state = 'armed' AND id != ?",
                (new_id,),
            ).fetchall():
                by_whom = (
                    f"session {new_id}"
                    if row["patient_id"] == self._pid
                    else "another patient's session"
                )
                _transition(
                    conn,
                    row["id"],
                    "armed",
                    "stopped",
                    f"disarmed: replaced by {by_whom}",
                    "system",
                    now,
                )
            _log(conn, new_id, None, "armed", None, None, now)
        return new_id

    def set_state(
        self,
        session_id: int,
        state: str,
        reason: str | None = None,
        by: str | None = None,
        *,
        enforce_limits: bool = True,
    ) -> Session:
        """Move a session to ``state``; refuses transitions the lifecycle does not allow.
        armed -> running checks the session's limits (``NotAllowed`` with the next allowed
        time) unless ``enforce_limits`` is False, which is for recording a start the
        engine already made (a panel button): the record must not lose a real session."""
        state = v.choice("state", state, STATES)
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT, required=False)
        by = v.text("by", by, v.MAX_NAME, required=False)
        with self._db.tx() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            old = row["state"]
            if state not in TRANSITIONS[old]:
                raise Conflict(_bad_transition(session_id, old, state))
            now = self._db.now()
            if old == "armed" and state == "running" and enforce_limits:
                check = self._limits_in(
                    conn, now, row["sessions_per_day"], row["min_gap_minutes"], exclude=session_id
                )
                if not check.allowed:
                    raise NotAllowed(
                        check.message, next_allowed_at=check.next_allowed_at, rule=check.rule
                    )
            _transition(conn, session_id, old, state, reason, by, to_text(now))
        return self.get(session_id, full=False)

    def record_step(
        self,
        session_id: int,
        step_index: int,
        kind: str,
        label: str,
        started_at: datetime,
        finished_at: datetime | None = None,
        delivered: dict[str, Any] | None = None,
    ) -> None:
        """Record what the engine reported for one step. Called again for the same step
        (started, then finished) it updates the row: ``finished_at`` and ``delivered``
        replace the earlier values when given. Accepted in any state, because the engine's
        "step finished" may arrive after its "stopped"; the engine is the truth here."""
        step_index = v.integer("step_index", step_index, 0)
        kind = v.name("kind", kind)
        label = v.text("label", label, v.MAX_TEXT_SHORT)
        started = to_text(started_at, "started_at")
        finished = to_text(finished_at, "finished_at") if finished_at is not None else None
        delivered_json = v.json_text("delivered", delivered) if delivered is not None else None
        with self._db.tx() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            _check_step_index(step_index, row)
            conn.execute(
                """INSERT INTO steps (session_id, step_index, kind, label, started_at,
                       finished_at, delivered_json)
                   VALUES (?, ?, ?, ?, ?, ?, coalesce(?, '{}'))
                   ON CONFLICT (session_id, step_index) DO UPDATE SET
                       kind = excluded.kind, label = excluded.label,
                       finished_at = coalesce(excluded.finished_at, finished_at),
                       delivered_json = coalesce(?, delivered_json)""",
                (
                    session_id,
                    step_index,
                    kind,
                    label,
                    started,
                    finished,
                    delivered_json,
                    delivered_json,
                ),
            )
            if finished is not None:  # reported to the hub with this write (outbox.py)
                outbox.step_finished(conn, session_id, step_index, now=to_text(self._db.now()))

    def abort_unfinished(self, reason: str) -> list[int]:
        """At start-up: every armed/running/paused session left by a previous run (crash,
        power loss) becomes aborted; steps already recorded are kept. Returns their ids."""
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            rows = conn.execute(
                "SELECT id, state FROM sessions WHERE state IN ('armed','running','paused') "
                "AND patient_id = ? ORDER BY id",
                (self._pid,),
            ).fetchall()
            for row in rows:
                _transition(conn, row["id"], row["state"], "aborted", reason, "startup", now)
        return [row["id"] for row in rows]

    def current(self) -> Session | None:
        """The armed, running or paused session, with its steps and ratings, or None."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT id FROM sessions WHERE state IN ('armed','running','paused') "
                "AND patient_id = ? ORDER BY id DESC LIMIT 1",
                (self._pid,),
            ).fetchone()
        return self.get(row["id"]) if row else None

    def get(self, session_id: int, *, full: bool = True) -> Session:
        """One session; with ``full`` its program, steps, ratings, journal, transitions and
        progression decision. ``NotFound`` for an unknown id."""
        with self._db.read() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            if not full:
                return _session(row)
            return _session(row, **_details(conn, session_id), program=_program(row))

    def latest(self, limit: int = 50, offset: int = 0, *, played: bool = False) -> list[Session]:
        """Newest first, without details (``get`` for those). ``played``: only sessions
        that started, the record a person reads (``PLAYED``)."""
        limit = v.integer("limit", limit, 1, 1000)
        offset = v.integer("offset", offset, 0)
        where = f"AND {PLAYED} " if played else ""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM sessions WHERE patient_id = ? {where}"
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                (self._pid, limit, offset),
            ).fetchall()
        return [_session(r) for r in rows]

    def between(
        self, start: datetime, end: datetime, *, full: bool = False, played: bool = False
    ) -> list[Session]:
        """Sessions that started (or, never started, were armed) in [start, end), oldest
        first; ``played``: only those that started (``PLAYED``)."""
        lo, hi = to_text(start, "start"), to_text(end, "end")
        extra = f" AND {PLAYED}" if played else ""
        with self._db.read() as conn:
            rows = conn.execute(
                f"""SELECT * FROM sessions WHERE patient_id = ?
                   AND coalesce(started_at, created_at) >= ?
                   AND coalesce(started_at, created_at) < ?{extra} ORDER BY id""",
                (self._pid, lo, hi),
            ).fetchall()
            if full:
                return [_session(r, **_details(conn, r["id"]), program=_program(r)) for r in rows]
        return [_session(r) for r in rows]

    def check_limits(
        self,
        *,
        sessions_per_day: int | None,
        min_gap_minutes: int | None,
        now: datetime | None = None,
    ) -> LimitCheck:
        """May a session start now (or at ``now``)? The page shows ``message`` and
        ``next_allowed_at`` before the patient presses start."""
        v.optional_int("sessions_per_day", sessions_per_day, 1)
        v.optional_int("min_gap_minutes", min_gap_minutes, 0)
        with self._db.read() as conn:
            return self._limits_in(
                conn, now or self._db.now(), sessions_per_day, min_gap_minutes, exclude=None
            )

    def _limits_in(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        per_day: int | None,
        gap: int | None,
        *,
        exclude: int | None,
    ) -> LimitCheck:
        since = to_text(now - timedelta(days=2))
        rows = conn.execute(
            """SELECT started_at, ended_at FROM sessions WHERE started_at IS NOT NULL
               AND patient_id = ?
               AND (ended_at IS NULL OR ended_at >= ? OR started_at >= ?) AND id IS NOT ?""",
            (self._pid, since, since, exclude),
        ).fetchall()
        past = [PastSession(parse_time(r[0]), from_text(r[1])) for r in rows]
        return check_limits(
            now,
            past,
            sessions_per_day=per_day,
            min_gap=timedelta(minutes=gap) if gap is not None else None,
            tz=self._db.tz,
        )


# -- transitions -------------------------------------------------------------------


def _bad_transition(session_id: int, old: str, new: str) -> str:
    if old in FINAL_STATES:
        return f"session {session_id} already ended ({old}); it cannot become {new}"
    allowed = ", ".join(sorted(TRANSITIONS[old]))
    return f"session {session_id} is {old}; it can become {allowed}, not {new}"


def _transition(
    conn: sqlite3.Connection,
    session_id: int,
    old: str,
    new: str,
    reason: str | None,
    by: str | None,
    now: str,
) -> None:
    if new == "running" and old == "armed":
        conn.execute(
            "UPDATE sessions SET state = ?, started_at = ? WHERE id = ?", (new, now, session_id)
        )
    elif new in FINAL_STATES:
        conn.execute(
            "UPDATE sessions SET state = ?, ended_at = ?, end_reason = ?, ended_by = ? "
            "WHERE id = ?",
            (new, now, reason, by, session_id),
        )
    else:
        conn.execute("UPDATE sessions SET state = ? WHERE id = ?", (new, session_id))
    _log(conn, session_id, old, new, reason, by, now)
    if new in FINAL_STATES:  # reported to the hub with this write (outbox.py)
        outbox.session_ended(conn, session_id, now=now)


def _log(
    conn: sqlite3.Connection,
    session_id: int,
    old: str | None,
    new: str,
    reason: str | None,
    by: str | None,
    now: str,
) -> None:
    conn.execute(
        "INSERT INTO session_transitions (session_id, at, from_state, to_state, reason, by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, now, old, new, reason, by),
    )


def _program_text(program: str | dict[str, Any]) -> str:
    if isinstance(program, str):
        try:
            parsed = json.loads(program)
        except ValueError as exc:
            raise InvalidInput(
                "program_json",
                program[:40],
                "the program as JSON",
                f"program_json is not JSON ({exc})",
            ) from None
        if not isinstance(parsed, dict):
            raise InvalidInput("program_json", type(parsed).__name__, "a JSON object")
        if len(program.encode()) > MAX_PROGRAM_BYTES:
            raise InvalidInput(
                "program_json", f"{len(program)} bytes", f"at most {MAX_PROGRAM_BYTES} bytes"
            )
        return program
    return v.json_text("program_json", program)
