"""The patient's ranking of a patient-ranked ladder (``store.rankings``).

A ranking orders a ladder's items from least to most irritating (Barber's approach: the
patient ranks them at intake, the clinician may re-rank at a visit). The plan's settings
hold the ranking in force (``settings.rankings``, what the planner plays); the
``rankings`` table keeps every ranking ever recorded, never updated. ``record`` writes
both in ONE transaction, so the plan and its history never disagree.

Whether the order fits the protocol (every item once, a ladder the patient ranks) is the
caller's check (``station.app.ranking`` runs the planner's atomic plan check first): this
module knows the plan's rows, not the protocol.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from station.errors import Conflict, InvalidInput
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text
from station.storage.models import _Record
from station.storage.plans import check_revision

Context = Literal["intake", "visit"]
MAX_ITEMS = 200


@dataclass(frozen=True)
class RankingRecord(_Record):
    """One recorded ranking: ``order`` least irritating first; ``context`` 'intake' (the
    ladder's first) or 'visit' (a re-ranking); ``by`` who recorded it."""

    id: int
    at: datetime
    ladder: str
    order: list[str]
    context: Context
    by: str | None


class AlreadyRanked(Conflict):
    """An intake-only ranking (the patient's own) for a ladder that already has one."""

    def __init__(self, ladder: str):
        self.ladder = ladder
        super().__init__(
            f"ladder '{ladder}' already has the patient's ranking; re-ranking is done with "
            "the clinician at a visit"
        )


class RankingRepository:
    """``store.rankings``: record a ranking (plan + history together), read them."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def record(
        self,
        ladder: str,
        order: list[str],
        *,
        by: str | None = None,
        intake_only: bool = False,
        expected_revision: int | None = None,
    ) -> RankingRecord:
        """Set ``ladder``'s ranking in force in the plan's settings and append it to the
        history, in one transaction. ``intake_only``: refuse (``AlreadyRanked``) when the
        ladder already has a ranking, decided inside the same transaction.
        ``expected_revision``: the plan revision the ranking was checked against; a plan
        changed since is refused (``StalePlan``), nothing written. The write bumps it."""
        ladder = v.name("ladder", ladder)
        order = _order(order)
        by = v.text("by", by, v.MAX_TEXT_SHORT, required=False)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            check_revision(conn, expected_revision, patient_id=self._pid)
            row = conn.execute(
                "SELECT ranking_json, settings_json FROM plan WHERE patient_id = ?", (self._pid,)
            ).fetchone()
            if row is None:
                raise InvalidInput(
                    "plan",
                    None,
                    "an assigned plan",
                    "no plan is assigned yet: assign a protocol first, then record the "
                    "patient's ranking",
                )
            ranking = json.loads(row["ranking_json"])
            settings = json.loads(row["settings_json"])
            in_force = dict(settings.get("rankings") or {})
            seen = conn.execute(
                "SELECT 1 FROM rankings WHERE patient_id = ? AND ladder = ? LIMIT 1",
                (self._pid, ladder),
            ).fetchone()
            context: Context = "visit" if (seen or ladder in in_force) else "intake"
            if intake_only and context == "visit":
                raise AlreadyRanked(ladder)
            in_force[ladder] = order
            settings["rankings"] = in_force
            ranking[ladder] = order
            conn.execute(
                "UPDATE plan SET ranking_json = ?, settings_json = ?, updated_at = ?, "
                "revision = revision + 1 WHERE patient_id = ?",
                (
                    v.json_text("ranking", ranking),
                    v.json_text("settings", settings),
                    now,
                    self._pid,
                ),
            )
            cur = conn.execute(
                "INSERT INTO rankings (at, ladder, order_json, context, by, patient_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (now, ladder, json.dumps(order), context, by, self._pid),
            )
            new = conn.execute(
                "SELECT * FROM rankings WHERE id = ?", (inserted_id(cur),)
            ).fetchone()
        return _from_row(new)

    def in_force(self) -> dict[str, list[str]]:
        """The rankings the plan plays, per ladder (empty without a plan)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT settings_json FROM plan WHERE patient_id = ?", (self._pid,)
            ).fetchone()
        if row is None:
            return {}
        return dict(json.loads(row["settings_json"]).get("rankings") or {})

    def history(self, *, ladder: str | None = None, limit: int = 100) -> list[RankingRecord]:
        """Recorded rankings newest first: all ladders', or one's."""
        limit = v.integer("limit", limit, 1, 10000)
        sql = "SELECT * FROM rankings WHERE patient_id = ?"
        args: list[int | str] = [self._pid]
        if ladder is not None:
            sql += " AND ladder = ?"
            args.append(v.name("ladder", ladder))
        with self._db.read() as conn:
            rows = conn.execute(
                sql + " ORDER BY at DESC, id DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_from_row(r) for r in rows]


def _order(value: Any) -> list[str]:
    """A non-empty list of distinct item ids (names), as the planner's checks expect."""
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput("order", value, "a non-empty list of item ids")
    if len(value) > MAX_ITEMS:
        raise InvalidInput("order", f"{len(value)} items", f"at most {MAX_ITEMS} items")
    items = [v.name(f"order[{i}]", item) for i, item in enumerate(value)]
    twice = sorted({i for i in items if items.count(i) > 1})
    if twice:
        raise InvalidInput(
            "order", value, "each item once", f"order: {twice} listed more than once"
        )
    return items


def _from_row(row: sqlite3.Row) -> RankingRecord:
    return RankingRecord(
        id=row["id"],
        at=parse_time(row["at"]),
        ladder=row["ladder"],
        order=list(json.loads(row["order_json"])),
        context=row["context"],
        by=row["by"],
    )
