"""Discrimination trials (``discrimination_trials``, schema 5; issue 16): the record.

One row per stimulus of a ``discriminate`` step once it is answered or its answer
window has closed unanswered (missed): which site (and probe) the engine drove, what the
patient named, correct or not. Never updated; the score per block, per site and over
weeks is read from these rows. Bound to one patient like every repository since schema 4
(``DiscriminationRepository(db, patient_id=...)``; ``discrimination_of(store)``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from station.errors import Conflict
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.limits import day_start, local
from station.storage.models import _Record


@dataclass(frozen=True)
class TrialRecord(_Record):
    session_id: int
    step_index: int
    block: int
    trial_index: int
    site: str
    probe: str | None
    answered_site: str | None
    answered_probe: str | None
    correct: bool
    missed: bool
    at: datetime


class DiscriminationRepository:
    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id

    def answer(
        self,
        *,
        session_id: int,
        step_index: int,
        block: int,
        trial_index: int,
        site: str,
        probe: str | None,
        answered_site: str,
        answered_probe: str | None,
        correct: bool,
    ) -> TrialRecord:
        """Record an answer; ``Conflict`` when the trial is recorded already."""
        try:
            return self._insert(
                session_id,
                step_index,
                block,
                trial_index,
                site,
                probe,
                answered_site,
                answered_probe,
                correct,
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise Conflict(
                f"trial {trial_index + 1} is answered already (or its time ran out); "
                "answer the next stimulus"
            ) from None

    def miss(
        self,
        *,
        session_id: int,
        step_index: int,
        block: int,
        trial_index: int,
        site: str,
        probe: str | None,
    ) -> bool:
        """Record a trial whose window closed unanswered; False when already recorded."""
        try:
            self._insert(session_id, step_index, block, trial_index, site, probe, None, None, False)
            return True
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            return False

    def _insert(
        self,
        sid: int,
        step: int,
        block: int,
        index: int,
        site: str,
        probe: str | None,
        a_site: str | None,
        a_probe: str | None,
        correct: bool,
    ) -> TrialRecord:
        at = to_text(self._db.now())
        with self._db.tx() as conn:
            cur = conn.execute(
                """INSERT INTO discrimination_trials (patient_id, session_id, step_index, block,
                       trial_index, site, probe, answered_site, answered_probe, correct, missed,
                       at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    self._pid,
                    sid,
                    step,
                    block,
                    index,
                    site,
                    probe,
                    a_site,
                    a_probe,
                    int(correct),
                    int(a_site is None),
                    at,
                ),
            )
            row = conn.execute(
                "SELECT * FROM discrimination_trials WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return _from_row(row)

    def of_session(self, session_id: int) -> list[TrialRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM discrimination_trials WHERE patient_id = ? AND session_id = ? "
                "ORDER BY step_index, trial_index",
                (self._pid, session_id),
            ).fetchall()
        return [_from_row(r) for r in rows]

    def between(self, start: datetime, end: datetime) -> list[TrialRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM discrimination_trials WHERE patient_id = ? AND at >= ? AND at < ? "
                "ORDER BY at, id",
                (self._pid, to_text(start), to_text(end)),
            ).fetchall()
        return [_from_row(r) for r in rows]


def discrimination_of(store: Any) -> DiscriminationRepository:
    """``store``'s patient's discrimination trials (the Store's own binding)."""
    return DiscriminationRepository(store.db, patient_id=store.patient_id)


def score(trials: list[TrialRecord]) -> dict[str, Any]:
    """``{"trials", "correct", "missed", "percent", "by_site", "by_block"}``: percent of
    all recorded trials named right (a miss counts as not correct)."""

    def tally(rows: list[TrialRecord]) -> dict[str, Any]:
        n, k = len(rows), sum(r.correct for r in rows)
        return {
            "trials": n,
            "correct": k,
            "missed": sum(r.missed for r in rows),
            "percent": round(100 * k / n, 1) if n else None,
        }

    out = tally(trials)
    out["by_site"] = {
        s: tally([r for r in trials if r.site == s]) for s in sorted({r.site for r in trials})
    }
    out["by_block"] = [
        tally([r for r in trials if r.block == b]) for b in sorted({r.block for r in trials})
    ]
    return out


def by_week(store: Any, *, start: date, end: date) -> list[dict[str, Any]]:
    """Per week (Monday first, the station's zone) from ``start`` to ``end``: the score."""
    first = start - timedelta(days=start.weekday())
    rows = discrimination_of(store).between(
        day_start(first, store.tz), day_start(end + timedelta(days=1), store.tz)
    )
    weeks: dict[date, list[TrialRecord]] = {}
    for r in rows:
        day = local(r.at, store.tz).date()
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(r)
    return [{"week_of": w.isoformat(), **score(v)} for w, v in sorted(weeks.items())]


def _from_row(row: Any) -> TrialRecord:
    return TrialRecord(
        session_id=row["session_id"],
        step_index=row["step_index"],
        block=row["block"],
        trial_index=row["trial_index"],
        site=row["site"],
        probe=row["probe"],
        answered_site=row["answered_site"],
        answered_probe=row["answered_probe"],
        correct=bool(row["correct"]),
        missed=bool(row["missed"]),
        at=parse_time(row["at"]),
    )


def discrimination_report(store: Any, *, start: date, end: date) -> dict[str, Any]:
    """The report's part: per session (per block, per site) and per week, ``start`` to
    ``end`` in the station's zone."""
    rows = discrimination_of(store).between(
        day_start(start, store.tz), day_start(end + timedelta(days=1), store.tz)
    )
    sessions: dict[int, list[TrialRecord]] = {}
    for r in rows:
        sessions.setdefault(r.session_id, []).append(r)
    return {
        "sessions": [
            {"session_id": sid, "at": to_text(v[0].at), **score(v)}
            for sid, v in sorted(sessions.items())
        ],
        "weeks": by_week(store, start=start, end=end),
    }
