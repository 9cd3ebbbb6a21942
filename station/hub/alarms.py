"""Alarm rules the clinician sees at the hub, each with the evidence that raised it.

- ``two_stops``: the patient's last two sessions both ended stopped (by a rating, "too
  much", a fault...): the level may be too high.
- ``ratings_rising``: over the patient's last 7 recorded days, the mean pain rating of the
  last 3 days is at least ``RISE`` (1 point on the 0-10 scale) above the first 3 days'.
- ``missed_days``: the last ``MISSED_DAYS`` adherence days in a row with no session where
  at least one was prescribed.
- ``fault``: a station reported a hardware fault.
"""

from __future__ import annotations

from datetime import date
from statistics import mean
from typing import Any

from station.hub import queries
from station.hub.store import HubStore

RISE = 1.0
MISSED_DAYS = 3


def patient_alarms(
    store: HubStore, patient_id: str, *, missed_days: int = MISSED_DAYS
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    sessions = queries.patient_records(store, patient_id, "session")
    if len(sessions) >= 2 and all(s["state"] == "stopped" for s in sessions[-2:]):
        out.append(
            _alarm(
                "two_stops",
                patient_id,
                "the last two sessions were stopped",
                [s["id"] for s in sessions[-2:]],
            )
        )
    summary = queries.patient_summary(store, patient_id, days=7)
    trend = summary["rating_trend"]
    if len(trend) >= 6:
        first = mean(d["mean"] for d in trend[:3])
        last = mean(d["mean"] for d in trend[-3:])
        if last - first >= RISE:
            out.append(
                _alarm(
                    "ratings_rising",
                    patient_id,
                    f"mean rating rose from {first:.1f} to {last:.1f} over a week",
                    [d["day"] for d in trend],
                )
            )
    adherence = queries.patient_records(store, patient_id, "adherence")
    tail = adherence[-missed_days:]
    if len(tail) == missed_days and all(a["done"] == 0 and a["prescribed"] > 0 for a in tail):
        days = sorted(date.fromisoformat(a["day"]) for a in tail)
        out.append(
            _alarm(
                "missed_days",
                patient_id,
                f"no session on {missed_days} days in a row",
                [d.isoformat() for d in days],
            )
        )
    return out


def station_alarms(store: HubStore) -> list[dict[str, Any]]:
    return [
        {
            "rule": "fault",
            "station_id": s["station_id"],
            "patient_id": None,
            "message": f"fault: {s['last_fault']}",
            "evidence": [s["last_fault_at"]],
        }
        for s in queries.station_list(store)
        if s["last_fault"]
    ]


def all_alarms(store: HubStore) -> list[dict[str, Any]]:
    out = station_alarms(store)
    for p in queries.patient_list(store):
        for alarm in patient_alarms(store, p["patient_id"]):
            alarm["station_id"] = p["station_id"]
            out.append(alarm)
    return out


def _alarm(rule: str, patient_id: str, message: str, evidence: list[Any]) -> dict[str, Any]:
    return {"rule": rule, "patient_id": patient_id, "message": message, "evidence": evidence}
