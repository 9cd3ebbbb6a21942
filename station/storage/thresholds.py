"""Measured thresholds (``store.thresholds``): the history, and the one in force.

Every measurement is a row of ``thresholds`` (schema 3), never updated, so a threshold
can be repeated over weeks as an outcome measure. Storing a *detection* threshold also
sets ``settings.detection_thresholds[actuator]`` in the plan, in the same transaction, so
intensities written as ``times_threshold`` use it from the next compile and the plan and
the history never disagree. A *tolerance* proposal is only recorded: it is a suggestion
for the clinician, never applied to anything by the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from station.errors import InvalidInput
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.models import _Record

KINDS: tuple[str, ...] = ("detection", "tolerance")
MAX_TRIALS = 1000


@dataclass(frozen=True)
class Threshold(_Record):
    id: int
    at: datetime
    actuator: str
    kind: Literal["detection", "tolerance"]
    value: float
    method: str
    trials: int
    detail: dict[str, Any]
    by: str | None


class ThresholdRepository:
    """``store.thresholds``: record a measurement, list the history, the latest ones."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def add(
        self,
        *,
        actuator: str,
        kind: str,
        value: float,
        method: str,
        trials: int,
        detail: dict[str, Any] | None = None,
        by: str | None = None,
    ) -> Threshold:
        """Record one measurement; a detection threshold also becomes the plan's
        ``settings.detection_thresholds[actuator]`` (when a plan exists) atomically."""
        actuator = v.name("actuator", actuator)
        kind = v.choice("kind", kind, KINDS)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= 1
        ):
            raise InvalidInput("value", value, "a fraction of full scale, 0 < value <= 1")
        method = v.text("method", method, v.MAX_NAME)
        trials = v.integer("trials", trials, 0, MAX_TRIALS)
        detail_json = v.json_text("detail", detail or {})
        by = v.text("by", by, v.MAX_NAME, required=False)
        at = to_text(self._db.now())
        with self._db.tx() as conn:
            cur = conn.execute(
                """INSERT INTO thresholds (at, actuator, kind, value, method, trials,
                       detail_json, by, patient_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (at, actuator, kind, float(value), method, trials, detail_json, by, self._pid),
            )
            rid = int(cur.lastrowid or 0)
            if kind == "detection":
                row = conn.execute(
                    "SELECT settings_json FROM plan WHERE patient_id = ?", (self._pid,)
                ).fetchone()
                if row is not None:
                    settings = json.loads(row[0] or "{}")
                    found = dict(settings.get("detection_thresholds") or {})
                    found[actuator] = float(value)
                    settings["detection_thresholds"] = found
                    conn.execute(
                        "UPDATE plan SET settings_json = ?, updated_at = ?, "
                        "revision = revision + 1 WHERE patient_id = ?",
                        (v.json_text("settings", settings), at, self._pid),
                    )
            out = conn.execute("SELECT * FROM thresholds WHERE id = ?", (rid,)).fetchone()
        return _from_row(out)

    def history(
        self, *, actuator: str | None = None, kind: str | None = None, limit: int = 200
    ) -> list[Threshold]:
        """Newest first."""
        where: list[str] = ["patient_id = ?"]
        args: list[str | int] = [self._pid]
        if actuator is not None:
            where.append("actuator = ?")
            args.append(v.name("actuator", actuator))
        if kind is not None:
            where.append("kind = ?")
            args.append(v.choice("kind", kind, KINDS))
        sql = "SELECT * FROM thresholds"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        args.append(v.integer("limit", limit, 1, 10_000))
        with self._db.read() as conn:
            rows = conn.execute(sql, tuple(args)).fetchall()
        return [_from_row(r) for r in rows]

    def latest(self, kind: str) -> dict[str, Threshold]:
        """The newest measurement of ``kind`` per actuator."""
        out: dict[str, Threshold] = {}
        for t in reversed(self.history(kind=kind, limit=10_000)):
            out[t.actuator] = t
        return out


def _from_row(row: Any) -> Threshold:
    return Threshold(
        id=row["id"],
        at=parse_time(row["at"]),
        actuator=row["actuator"],
        kind=row["kind"],
        value=row["value"],
        method=row["method"],
        trials=row["trials"],
        detail=json.loads(row["detail_json"] or "{}"),
        by=row["by"],
    )
