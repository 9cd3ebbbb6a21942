"""Body maps of the sensitive zone (``store.bodymaps``, schema 6): draw, list, latest.

A map is stored as drawn (closed polygons in the outline's coordinates) with the
calibration it was measured with and the area the station computed from both
(``station.bodymap.area``), so a later change of outline or formula never rewrites a
past measurement. Rows are never updated: the history is the zone over weeks.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station.bodymap import area
from station.bodymap.outlines import OUTLINE_IDS, outline
from station.storage import outbox_outcomes
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text
from station.storage.models import _Record

MAX_NOTE = 1000


@dataclass(frozen=True)
class BodyMap(_Record):
    id: int
    at: datetime
    outline: str
    shapes: list[list[list[float]]]
    calibration: dict[str, Any]
    area_cm2: float
    note: str
    by: str | None


class BodyMapRepository:
    """``store.bodymaps``: one patient's maps."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def add(
        self,
        *,
        outline_id: str,
        shapes: Any,
        length_cm: float,
        note: str = "",
        by: str | None = None,
    ) -> BodyMap:
        """Check the drawing and the measured length, compute the area, store the map."""
        out = outline(outline_id)
        measured = area.measure(out, shapes, length_cm)
        note = v.text("note", note, MAX_NOTE, required=False) or ""
        by = v.text("by", by, v.MAX_NAME, required=False)
        calibration = {
            "landmark": out.landmark,
            "length_cm": float(length_cm),
            "landmark_units": out.landmark_units,
            "cm_per_unit": measured.cm_per_unit,
        }
        with self._db.tx() as conn:
            cur = conn.execute(
                """INSERT INTO body_maps (patient_id, at, outline, shapes_json,
                       calibration_json, area_cm2, note, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    self._pid,
                    to_text(self._db.now()),
                    out.id,
                    v.json_text("shapes", measured.shapes, list),
                    v.json_text("calibration", calibration),
                    measured.area_cm2,
                    note,
                    by,
                ),
            )
            row = conn.execute(
                "SELECT * FROM body_maps WHERE id = ?", (inserted_id(cur),)
            ).fetchone()
            outbox_outcomes.body_map_added(conn, row["id"], now=row["at"])  # the hub's copy
        return _from_row(row)

    def history(self, *, outline_id: str | None = None, limit: int = 200) -> list[BodyMap]:
        """Oldest first (the order a chart and an overlay draw them in): the newest
        ``limit`` maps."""
        sql = "SELECT * FROM body_maps WHERE patient_id = ?"
        args: list[Any] = [self._pid]
        if outline_id is not None:
            sql += " AND outline = ?"
            args.append(v.choice("outline", outline_id, OUTLINE_IDS))
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        args.append(v.integer("limit", limit, 1, 10_000))
        with self._db.read() as conn:
            rows = conn.execute(sql, tuple(args)).fetchall()
        return [_from_row(r) for r in reversed(rows)]

    def latest_lengths(self) -> dict[str, float]:
        """The last length measured per landmark (the page offers it again)."""
        out: dict[str, float] = {}
        for m in self.history(limit=10_000):
            out[str(m.calibration.get("landmark"))] = float(m.calibration["length_cm"])
        return out


def _from_row(row: sqlite3.Row) -> BodyMap:
    return BodyMap(
        id=row["id"],
        at=parse_time(row["at"]),
        outline=row["outline"],
        shapes=json.loads(row["shapes_json"]),
        calibration=json.loads(row["calibration_json"]),
        area_cm2=row["area_cm2"],
        note=row["note"],
        by=row["by"],
    )
