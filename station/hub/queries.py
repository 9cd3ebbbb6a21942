"""What the hub's page and API read: stations, sessions, patients (adherence, rating trend,
level history, last sessions). No Flask here; rows come back as plain dicts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from statistics import mean
from typing import Any

import sqlalchemy as sa

from station.hub.schema import records, stations
from station.hub.store import HubStore


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None


def station_list(store: HubStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(stations).order_by(stations.c.station_id)).all()
    return [
        {
            "station_id": r.station_id,
            "online": bool(r.online),
            "last_seen": _iso(r.last_seen),
            "software": r.software,
            "last_fault": r.last_fault,
            "last_fault_at": r.last_fault_at.isoformat() if r.last_fault_at else None,
        }
        for r in rows
    ]


def station_exists(store: HubStore, station_id: str) -> bool:
    with store.engine.connect() as conn:
        q = sa.select(stations.c.station_id).where(stations.c.station_id == station_id)
        return conn.execute(q).first() is not None


def _payloads(
    store: HubStore, *conds: Any, limit: int | None = None, desc: bool = True
) -> list[dict[str, Any]]:
    q = sa.select(records.c.payload).where(*conds)
    q = q.order_by(records.c.at.desc() if desc else records.c.at, records.c.id)
    if limit:
        q = q.limit(limit)
    with store.engine.connect() as conn:
        return [dict(r[0]) for r in conn.execute(q)]


def sessions_of_station(
    store: HubStore, station_id: str, *, limit: int = 200
) -> list[dict[str, Any]]:
    return _payloads(
        store, records.c.station_id == station_id, records.c.kind == "session", limit=limit
    )


def patient_list(store: HubStore) -> list[dict[str, Any]]:
    q = (
        sa.select(records.c.patient_id, records.c.station_id, sa.func.max(records.c.at))
        .where(records.c.patient_id.is_not(None))
        .group_by(records.c.patient_id, records.c.station_id)
        .order_by(records.c.patient_id)
    )
    with store.engine.connect() as conn:
        return [
            {"patient_id": r[0], "station_id": r[1], "last_record": _as_iso(r[2])}
            for r in conn.execute(q)
        ]


def _as_iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def patient_exists(store: HubStore, patient_id: str) -> bool:
    with store.engine.connect() as conn:
        q = sa.select(records.c.id).where(records.c.patient_id == patient_id).limit(1)
        return conn.execute(q).first() is not None


def patient_records(
    store: HubStore, patient_id: str, kind: str | None = None
) -> list[dict[str, Any]]:
    conds = [records.c.patient_id == patient_id]
    if kind:
        conds.append(records.c.kind == kind)
    return _payloads(store, *conds, desc=False)


def patient_summary(store: HubStore, patient_id: str, *, days: int = 14) -> dict[str, Any]:
    """Adherence over the last ``days`` recorded days, the daily mean rating (trend),
    the level history (progression decisions) and the last ten sessions."""
    adherence = patient_records(store, patient_id, "adherence")[-days:]
    done = sum(a["done"] for a in adherence)
    prescribed = sum(a["prescribed"] for a in adherence)
    daily: dict[str, list[int]] = defaultdict(list)
    for r in patient_records(store, patient_id, "rating"):
        daily[r["at"][:10]].append(r["value"])
    trend = [{"day": d, "mean": round(mean(v), 2), "n": len(v)} for d, v in sorted(daily.items())]
    levels = [
        {
            "at": d["at"],
            "ladder": d["ladder"],
            "from": d["from_level"],
            "to": d["to_level"],
            "action": d["action"],
            "reason": d["reason"],
        }
        for d in patient_records(store, patient_id, "decision")
        if d["from_level"] != d["to_level"]
    ]
    sessions = patient_records(store, patient_id, "session")
    return {
        "patient_id": patient_id,
        "adherence": {
            "days": len(adherence),
            "done": done,
            "prescribed": prescribed,
            "percent": round(100 * done / prescribed) if prescribed else None,
        },
        "rating_trend": trend[-days:],
        "level_history": levels,
        "last_sessions": list(reversed(sessions[-10:])),
        "station_ids": sorted({s["station_id"] for s in sessions}),
    }
