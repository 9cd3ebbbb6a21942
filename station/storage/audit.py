"""``store.audit``: who changed what (schema 8, ``0008_audit.sql``), and the one view that
reads it together with the histories that already keep their author (rankings,
thresholds, level changes).

Station-wide like ``store.users``: a row names its patient (or none, for a station-wide
change such as a clinician's account), and ``timeline(patient_id=...)`` gives one
patient's changes plus the station's, never another patient's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from station.errors import InvalidInput
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import inserted_id, parse_time, to_text

What = Literal["plan", "caps", "settings", "sites", "account", "patient"]
WHATS: tuple[str, ...] = ("plan", "caps", "settings", "sites", "account", "patient")


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    what: str  # plan, caps, settings, sites, account, patient, ranking, threshold, level
    summary: str
    patient_id: int | None
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "what": self.what,
            "summary": self.summary,
            "patient_id": self.patient_id,
            "detail": self.detail,
        }


class AuditRepository:
    def __init__(self, db: Database):
        self._db = db

    def record(
        self,
        what: str,
        summary: str,
        *,
        actor: str,
        patient_id: int | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if what not in WHATS:
            raise InvalidInput("what", what, f"one of {', '.join(WHATS)}")
        actor = v.text("actor", (actor or "unknown")[: v.MAX_TEXT_SHORT], v.MAX_TEXT_SHORT)
        summary = v.text("summary", summary[: v.MAX_TEXT_SHORT], v.MAX_TEXT_SHORT)
        body = json.dumps(detail or {}, default=str, ensure_ascii=False)
        with self._db.tx() as conn:
            inserted_id(conn.execute(
                "INSERT INTO audit (at, actor, patient_id, what, summary, detail_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (to_text(self._db.now()), actor, patient_id, what, summary, body),
            ))  # fmt: skip

    def timeline(self, *, patient_id: int, limit: int = 500) -> list[AuditEntry]:
        """Newest first: this patient's changes (audit rows, rankings, thresholds, level
        changes) and the station's (rows without a patient)."""
        limit = v.integer("limit", limit, 1, 10000)
        out: list[AuditEntry] = []
        with self._db.read() as conn:
            for r in conn.execute(
                "SELECT * FROM audit WHERE patient_id = ? OR patient_id IS NULL "
                "ORDER BY id DESC LIMIT ?",
                (patient_id, limit),
            ):
                out.append(AuditEntry(parse_time(r["at"]), r["actor"], r["what"], r["summary"],
                                      r["patient_id"], json.loads(r["detail_json"])))  # fmt: skip
            for r in conn.execute(
                "SELECT * FROM rankings WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
                (patient_id, limit),
            ):
                order = json.loads(r["order_json"])
                out.append(AuditEntry(parse_time(r["at"]), r["by"] or "unknown", "ranking",
                                      f"ranking of {r['ladder']} ({r['context']}): "
                                      f"{', '.join(map(str, order))}", patient_id,
                                      {"ladder": r["ladder"], "order": order}))  # fmt: skip
            for r in conn.execute(
                "SELECT * FROM thresholds WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
                (patient_id, limit),
            ):
                out.append(AuditEntry(parse_time(r["at"]), r["by"] or "unknown", "threshold",
                                      f"{r['kind']} threshold of {r['actuator']}: "
                                      f"{r['value']:.3f} ({r['method']}, {r['trials']} trials)",
                                      patient_id, {"actuator": r["actuator"]}))  # fmt: skip
            for r in conn.execute(
                "SELECT * FROM level_history WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
                (patient_id, limit),
            ):
                out.append(AuditEntry(parse_time(r["at"]), _by(r["reason"]), "level",
                                      f"{r['ladder']}: level {_level(r['from_level'])} -> "
                                      f"{r['to_level']} ({r['reason']})", patient_id,
                                      {"ladder": r["ladder"]}))  # fmt: skip
        out.sort(key=lambda e: e.at, reverse=True)
        return out[:limit]


def _by(reason: str | None) -> str:
    """A level change's author: "assigned by carla" -> carla; else the progression rule."""
    if reason and " by " in reason:
        return reason.rsplit(" by ", 1)[1].strip() or "unknown"
    return "progression rule"


def _level(value: int | None) -> str:
    return "(none)" if value is None else str(value)
