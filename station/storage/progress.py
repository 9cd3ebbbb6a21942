"""Progression decisions, level history and adherence (``store.progress``).

A decision is taken after each finished session by the progression rules (not here) and
recorded with its reason; when it changes the level, the plan's level for that ladder and
the level history change in the same transaction, so the record can never say "advanced"
while the plan still holds the old level.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from station.errors import Conflict, InvalidInput
from station.storage import outbox
from station.storage import validate as v
from station.storage.adherence import prescribed_by_day
from station.storage.database import Database
from station.storage.db import from_text, parse_time, to_text
from station.storage.limits import day_start, local
from station.storage.models import FINAL_STATES, DecisionRecord, LevelChange
from station.storage.plans import write_level
from station.storage.rows import _session_row, decision_from_row

_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class DayAdherence:
    day: date
    prescribed: int | None  # sessions per day in force that day; None: not prescribed
    started: int  # sessions that started running that day (any end)
    completed: int  # of those, completed
    reminders: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "prescribed": self.prescribed,
            "started": self.started,
            "completed": self.completed,
            "reminders": self.reminders,
        }


class ProgressRepository:
    """``store.progress``: what progression decided, how levels moved, adherence per day."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def record_decision(
        self, session_id: int, action: str, from_level: int, to_level: int, reason: str
    ) -> DecisionRecord:
        """Record the progression decision for a finished session (one per session) and,
        if ``to_level`` differs, move the plan's level for the session's ladder."""
        if not isinstance(action, str) or not _ACTION.match(action):
            raise InvalidInput(
                "action", action, "a short lower-case word such as advance, hold or step_down"
            )
        from_level = v.integer("from_level", from_level, 0)
        to_level = v.integer("to_level", to_level, 0)
        reason = v.text("reason", reason, 500)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            if row["state"] not in FINAL_STATES:
                raise Conflict(
                    f"session {session_id} is {row['state']}; progression is "
                    "decided once it has ended"
                )
            if conn.execute(
                "SELECT 1 FROM decisions WHERE session_id = ?", (session_id,)
            ).fetchone():
                raise Conflict(f"session {session_id} already has a progression decision")
            cur = conn.execute(
                """INSERT INTO decisions (session_id, at, ladder, action, from_level, to_level,
                       reason, patient_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (session_id, now, row["ladder"], action, from_level, to_level, reason, self._pid),
            )
            if to_level != from_level:
                write_level(conn, row["ladder"], to_level, f"{action}: {reason}", session_id, now,
                            patient_id=self._pid)  # fmt: skip
            outbox.decision_recorded(conn, int(cur.lastrowid or 0), now=now)  # the hub's copy
            d = conn.execute("SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)).fetchone()
        return decision_from_row(d)

    def revise_decision(
        self, session_id: int, action: str, from_level: int, to_level: int, reason: str
    ) -> DecisionRecord:
        """Take the decision for ``session_id`` again (a rating given after the session
        ended changed what it counts): the row is replaced, its reason says what it was,
        and the plan's level follows the new ``to_level`` when it still stands where the
        old decision put it (a clinician's later change is never undone). Refused
        (``Conflict``) once a later session on the same ladder has been decided: that
        decision built on this one. No decision yet: recorded as ``record_decision``."""
        if not isinstance(action, str) or not _ACTION.match(action):
            raise InvalidInput("action", action, "a short lower-case word such as advance")
        from_level = v.integer("from_level", from_level, 0)
        to_level = v.integer("to_level", to_level, 0)
        reason = v.text("reason", reason, 500)
        with self._db.read() as conn:
            _session_row(conn, session_id, patient_id=self._pid)
            old = conn.execute(
                "SELECT * FROM decisions WHERE session_id = ?", (session_id,)
            ).fetchone()
        if old is None:
            return self.record_decision(session_id, action, from_level, to_level, reason)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            later = conn.execute(
                "SELECT session_id FROM decisions WHERE patient_id = ? AND ladder = ? "
                "AND session_id > ?",
                (self._pid, row["ladder"], session_id),
            ).fetchone()
            if later is not None:
                raise Conflict(
                    f"session {later[0]} on ladder {row['ladder']} was decided after session "
                    f"{session_id}; its decision is no longer revised"
                )
            was = f" (was {old['action']}: {old['reason']})"
            text = (reason + was)[:500]
            conn.execute(
                """UPDATE decisions SET at = ?, action = ?, from_level = ?, to_level = ?,
                       reason = ? WHERE id = ?""",
                (now, action, from_level, to_level, text, old["id"]),
            )
            level = conn.execute(
                "SELECT level FROM plan_levels WHERE patient_id = ? AND ladder = ?",
                (self._pid, row["ladder"]),
            ).fetchone()
            if to_level != old["to_level"] and level is not None and level[0] == old["to_level"]:
                write_level(conn, row["ladder"], to_level, f"{action}: {text}", session_id, now,
                            patient_id=self._pid)  # fmt: skip
            outbox.decision_recorded(conn, old["id"], now=now)  # the revision, reported too
            d = conn.execute("SELECT * FROM decisions WHERE id = ?", (old["id"],)).fetchone()
        return decision_from_row(d)

    def history(self, *, ladder: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Finished sessions, newest first, with what progression rules look at: level,
        whether it completed, after-step discomfort ratings (in order), the highest live
        rating and the decision taken. Sessions that never started are left out."""
        limit = v.integer("limit", limit, 1, 1000)
        sql = (
            "SELECT * FROM sessions WHERE state IN ('completed','stopped','aborted') "
            "AND started_at IS NOT NULL AND patient_id = ?"
        )
        args: list[Any] = [self._pid]
        if ladder is not None:
            sql += " AND ladder = ?"
            args.append(ladder)
        out = []
        with self._db.read() as conn:
            for s in conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall():
                ratings = [
                    r[0]
                    for r in conn.execute(
                        "SELECT value FROM ratings WHERE session_id = ? AND live = 0 ORDER BY id",
                        (s["id"],),
                    )
                ]
                live_max = conn.execute(
                    "SELECT max(value) FROM ratings WHERE session_id = ? AND live = 1", (s["id"],)
                ).fetchone()[0]
                d = conn.execute(
                    "SELECT * FROM decisions WHERE session_id = ?", (s["id"],)
                ).fetchone()
                out.append(
                    {
                        "session_id": s["id"],
                        "ladder": s["ladder"],
                        "level": s["level"],
                        "state": s["state"],
                        "completed": s["state"] == "completed",
                        "end_reason": s["end_reason"],
                        "ended_by": s["ended_by"],
                        "ended_at": from_text(s["ended_at"]),
                        "ratings": ratings,
                        "live_max": live_max,
                        "decision": decision_from_row(d) if d else None,
                    }
                )
        return out

    def level_history(self, ladder: str | None = None) -> list[LevelChange]:
        """Every level change, oldest first."""
        sql = "SELECT * FROM level_history WHERE patient_id = ?"
        args: tuple[int | str, ...] = (self._pid,)
        if ladder is not None:
            sql, args = sql + " AND ladder = ?", (self._pid, ladder)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [
            LevelChange(
                r["id"],
                parse_time(r["at"]),
                r["ladder"],
                r["from_level"],
                r["to_level"],
                r["reason"],
                r["session_id"],
            )
            for r in rows
        ]

    def adherence(
        self, start_day: date, end_day: date, *, sessions_per_day: int | None
    ) -> list[DayAdherence]:
        """Per local day in [start_day, end_day]: sessions started and completed against
        the sessions per day prescribed THAT day (``station.storage.adherence``: None
        before the plan began; ``sessions_per_day`` only when there is no plan history),
        and reminders shown."""
        if end_day < start_day:
            raise InvalidInput("end_day", end_day.isoformat(), f"on or after {start_day}")
        if (end_day - start_day).days > 3660:
            raise InvalidInput("end_day", end_day.isoformat(), "at most ten years after start")
        v.optional_int("sessions_per_day", sessions_per_day, 1)
        lo = to_text(day_start(start_day, self._db.tz))
        hi = to_text(day_start(end_day + timedelta(days=1), self._db.tz))
        with self._db.read() as conn:
            sessions = conn.execute(
                "SELECT started_at, state FROM sessions WHERE patient_id = ? "
                "AND started_at >= ? AND started_at < ?",
                (self._pid, lo, hi),
            ).fetchall()
            reminders = conn.execute(
                "SELECT at FROM reminders WHERE patient_id = ? AND at >= ? AND at < ?",
                (self._pid, lo, hi),
            ).fetchall()
            began = conn.execute(
                "SELECT min(at) FROM level_history WHERE patient_id = ?", (self._pid,)
            ).fetchone()[0]
            armed = conn.execute(
                "SELECT created_at, sessions_per_day FROM sessions WHERE patient_id = ? "
                "AND sessions_per_day IS NOT NULL ORDER BY created_at, id",
                (self._pid,),
            ).fetchall()
        prescribed = prescribed_by_day(
            start_day,
            end_day,
            plan_start=parse_time(began) if began else None,
            armed=[(parse_time(a[0]), a[1]) for a in armed],
            fallback=sessions_per_day,
            tz=self._db.tz,
        )
        return _per_day(start_day, end_day, sessions, reminders, prescribed, self._db.tz)


def _per_day(
    start_day: date,
    end_day: date,
    sessions: list[sqlite3.Row],
    reminders: list[sqlite3.Row],
    per_day: dict[date, int | None],
    tz: Any,
) -> list[DayAdherence]:
    started: dict[date, int] = {}
    completed: dict[date, int] = {}
    shown: dict[date, int] = {}
    for s in sessions:
        day = local(parse_time(s["started_at"]), tz).date()
        started[day] = started.get(day, 0) + 1
        if s["state"] == "completed":
            completed[day] = completed.get(day, 0) + 1
    for r in reminders:
        day = local(parse_time(r["at"]), tz).date()
        shown[day] = shown.get(day, 0) + 1
    days = (end_day - start_day).days + 1
    out = []
    for i in range(days):
        day = start_day + timedelta(days=i)
        out.append(
            DayAdherence(
                day, per_day[day], started.get(day, 0), completed.get(day, 0), shown.get(day, 0)
            )
        )
    return out
