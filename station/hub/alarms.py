"""Alarm rules the clinician sees at the hub, each with the evidence that raised it.

- ``two_stops``: the patient's last two sessions both ended stopped (by a rating, "too
  much", a fault...): the level may be too high.
- ``ratings_rising``: over the week (7 calendar days) ending on the patient's last rated
  day, the mean of the daily mean pain ratings of its last 3 days is at least ``RISE``
  (1 point on the 0-10 scale) above that of its first 3 days (both need a rated day).
  Calendar days, not recorded days: two weeks without ratings between a low and a high
  day are not a rise "over a week".
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
WEEK = 7  # days
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
    rising = _rising(store, patient_id)
    if rising is not None:
        first, last, rated_days = rising
        out.append(
            _alarm(
                "ratings_rising",
                patient_id,
                f"mean rating rose from {first:.1f} to {last:.1f} over a week",
                rated_days,
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


def _rising(store: HubStore, patient_id: str) -> tuple[float, float, list[str]] | None:
    """(first 3 days' mean, last 3 days' mean, rated days of the week) when ratings rose
    by ``RISE`` or more over the week ending on the last rated day, else None."""
    trend = queries.patient_summary(store, patient_id, days=WEEK)["rating_trend"]
    if not trend:
        return None
    end = date.fromisoformat(trend[-1]["day"])
    daily = {
        (end - date.fromisoformat(d["day"])).days: d["mean"]
        for d in trend
        if (end - date.fromisoformat(d["day"])).days < WEEK
    }
    early = [v for ago, v in daily.items() if ago >= WEEK - 3]
    late = [v for ago, v in daily.items() if ago < 3]
    if not early or not late or mean(late) - mean(early) < RISE:
        return None
    days = [d["day"] for d in trend if (end - date.fromisoformat(d["day"])).days < WEEK]
    return mean(early), mean(late), days


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
