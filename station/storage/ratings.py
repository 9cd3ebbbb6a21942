"""Ratings (``store.ratings``).

Rules, checked before anything is written:
- discomfort ``value`` 0-10 (NRS); ``pleasantness`` is bipolar -10 (very unpleasant) ..
  +10 (very pleasant), 0 neutral, the scale used in affective-touch brushing studies;
  ``lingering`` true/false/None and ``lingering_where`` only when lingering is true.
- live ratings only while the session is running or paused.
- after-step ratings while running or paused, and, because the patient often rates the
  last "rate" step just after the program ends, within ``RATING_GRACE`` after a session
  *completed* (not stopped or aborted), for that last rate step (or with no step).
The journal is ``store.journal`` (``station.storage.journal``).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import outbox
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import from_text, inserted_id, to_text
from station.storage.models import Rating
from station.storage.rows import _check_step_index, _session_row, rating_from_row

RATING_GRACE = timedelta(minutes=10)
MAX_WHERE = 200


class RatingRepository:
    """``store.ratings``: add a rating under the rules above, read one back."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def add(
        self,
        session_id: int,
        value: int,
        *,
        step_index: int | None = None,
        live: bool = False,
        pleasantness: int | None = None,
        lingering: bool | None = None,
        lingering_where: str | None = None,
        by: str | None = None,
    ) -> int:
        """Store one rating; returns its id. ``by``: who gave it ("patient:NAME",
        "clinician:NAME", "panel"). Refusals (``InvalidInput``, ``NotFound``,
        ``Conflict``) change nothing."""
        by = v.text("by", by, v.MAX_TEXT_SHORT, required=False)
        value = v.integer("value", value, 0, 10)
        step_index = v.optional_int("step_index", step_index, 0)
        if not isinstance(live, bool):
            raise InvalidInput("live", live, "true or false")
        pleasantness = v.optional_int("pleasantness", pleasantness, -10, 10)
        lingering = v.optional_bool("lingering", lingering)
        where = v.text("lingering_where", lingering_where, MAX_WHERE, required=False)
        if where is not None and lingering is not True:
            raise InvalidInput(
                "lingering_where",
                lingering_where,
                "only when lingering is true",
                "lingering_where is given but lingering is not true; set "
                "lingering to true or leave the place empty",
            )
        with self._db.tx() as conn:
            row = _session_row(conn, session_id, patient_id=self._pid)
            if step_index is not None:
                _check_step_index(step_index, row)
            self._check_rating_allowed(row, live, step_index)
            cur = conn.execute(
                """INSERT INTO ratings (session_id, step_index, at, live, value, pleasantness,
                       lingering, lingering_where, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    session_id,
                    step_index,
                    to_text(self._db.now()),
                    int(live),
                    value,
                    pleasantness,
                    None if lingering is None else int(lingering),
                    where,
                    by,
                ),
            )
            new_id = inserted_id(cur)
            outbox.rating_added(conn, new_id, now=to_text(self._db.now()))  # the hub's copy
            return new_id

    def _check_rating_allowed(self, row: sqlite3.Row, live: bool, step_index: int | None) -> None:
        state, sid = row["state"], row["id"]
        if state in ("running", "paused"):
            return
        if state == "armed":
            raise Conflict(f"session {sid} has not started yet; rate it once it runs")
        if live:
            raise Conflict(
                f"session {sid} already ended ({state}); a live rating is only taken while it runs"
            )
        ended = from_text(row["ended_at"])
        if state == "completed" and ended is not None and self._db.now() - ended <= RATING_GRACE:
            last_rate = last_rate_step(row)
            if step_index is None or step_index == last_rate:
                return
            raise Conflict(
                f"session {sid} already ended; after the end only its last rating step "
                f"(step {last_rate}) can still be rated, for {_minutes(RATING_GRACE)} minutes"
            )
        raise Conflict(
            f"session {sid} already ended ({state}) and can no longer be rated; write a "
            "journal entry instead"
        )

    def get(self, rating_id: int) -> Rating:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT ratings.* FROM ratings JOIN sessions ON sessions.id = ratings.session_id "
                "WHERE ratings.id = ? AND sessions.patient_id = ?",
                (rating_id, self._pid),
            ).fetchone()
        if row is None:
            raise NotFound(f"no rating with id {rating_id}")
        return rating_from_row(row)


def last_rate_step(row: sqlite3.Row) -> int:
    """Index of the program's last ``rate`` step (the last step if none is marked)."""
    try:
        steps = json.loads(row["program_json"]).get("steps", [])
        rates = [int(s.get("index", i)) for i, s in enumerate(steps) if s.get("kind") == "rate"]
    except (ValueError, AttributeError, TypeError):
        rates = []
    return rates[-1] if rates else max(row["planned_steps"] - 1, 0)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
