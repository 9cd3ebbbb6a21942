"""What is due, and each outcome measure as a trend (the report, the page, the exports).

Read from the repositories only (``store.outcomes``, ``store.bodymaps``,
``store.thresholds``) and, for discrimination accuracy, from the trials table of schema 5
(``discrimination_trials``: accuracy per session = correct / trials, a missed trial
counting as wrong, as in the training's own score). JSON-safe throughout.

A measure is due at once when it was never recorded, else when its last record is
``every_days`` old: the schedule runs from the last measurement, so a VAS given a day
late moves the next one too (a fixed calendar would ask twice in a row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from station.bodymap.outlines import OUTLINES
from station.i18n import N_
from station.storage.outcomes import MEASURES

LABELS = {
    "vas": N_("Pain (VAS 0-100: at rest, in use, on touch)"),  # translated where shown
    "zone_area": N_("Area of the sensitive zone (body map)"),
    "detection_threshold": N_("Detection threshold (re-measured)"),
    "discrimination": N_("Discrimination accuracy"),
}
UNITS = {
    "vas": "0-100",
    "zone_area": "cm²",
    "detection_threshold": "% of full scale",
    "discrimination": "% correct",
}
WHERE = {  # the page that records each measure
    "vas": "/outcomes#vas",
    "zone_area": "/bodymap",
    "detection_threshold": "/thresholds",
    "discrimination": "/",
}
VAS_SERIES = (("vas_rest", "at rest"), ("vas_use", "in use"), ("vas_touch", "on touch"))


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def trends(store: Any) -> dict[str, dict[str, Any]]:
    """Every measure with its series ``{name: [[iso time, value], ...]}`` (oldest first)."""
    vas: dict[str, list[list[Any]]] = {name: [] for _, name in VAS_SERIES}
    for e in store.outcomes.entries(kind="vas", limit=100_000):
        for col, name in VAS_SERIES:
            value = getattr(e, col)
            if value is not None:
                vas[name].append([_iso(e.at), value])
    zone: dict[str, list[list[Any]]] = {}
    for m in store.bodymaps.history(limit=10_000):
        zone.setdefault(OUTLINES[m.outline].label, []).append([_iso(m.at), m.area_cm2])
    thresholds: dict[str, list[list[Any]]] = {}
    for t in reversed(store.thresholds.history(kind="detection", limit=10_000)):
        thresholds.setdefault(t.actuator, []).append([_iso(t.at), round(100 * t.value, 2)])
    accuracy = [[_iso(at), pct] for at, pct in discrimination_sessions(store)]
    series = {
        "vas": {k: pts for k, pts in vas.items() if pts},
        "zone_area": zone,
        "detection_threshold": thresholds,
        "discrimination": {"accuracy": accuracy} if accuracy else {},
    }
    return {m: {"label": LABELS[m], "unit": UNITS[m], "series": series[m]} for m in MEASURES}


def discrimination_sessions(store: Any) -> list[tuple[datetime, float]]:
    """Accuracy per session of discrimination training (the hook into schema 5's trials;
    empty before the first trial, or on a database without the table)."""
    sql = (
        "SELECT min(at) AS at, sum(correct) AS correct, count(*) AS trials "
        "FROM discrimination_trials WHERE patient_id = ? GROUP BY session_id ORDER BY min(at)"
    )
    pid = store.patient_id  # before the read: it may read the patients table itself
    try:
        with store.db.read() as conn:
            rows = conn.execute(sql, (pid,)).fetchall()
    except Exception as exc:  # sqlite3.OperationalError: no such table (schema < 5)
        if "no such table" in str(exc):
            return []
        raise
    return [
        (datetime.fromisoformat(r["at"]), round(100 * r["correct"] / r["trials"], 1))
        for r in rows
        if r["trials"]
    ]


def last_recorded(store: Any, trend: dict[str, dict[str, Any]]) -> dict[str, datetime | None]:
    out: dict[str, datetime | None] = {}
    for measure, data in trend.items():
        times = [pts[-1][0] for pts in data["series"].values() if pts]
        out[measure] = datetime.fromisoformat(max(times)) if times else None
    return out


def due(store: Any, trend: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The clinician's schedule with, per measure, when it was last recorded, when it is
    due next and whether it is due now."""
    trend = trend if trend is not None else trends(store)
    last = last_recorded(store, trend)
    now = store.now()
    out = []
    for item in store.outcomes.schedule():
        done = last.get(item.measure)
        due_at = item.since if done is None else done + timedelta(days=item.every_days)
        out.append(
            {
                "measure": item.measure,
                "label": LABELS[item.measure],
                "every_days": item.every_days,
                "since": _iso(item.since),
                "last_at": _iso(done) if done else None,
                "due_at": _iso(due_at),
                "due": now >= due_at,
                "where": WHERE[item.measure],
            }
        )
    return out


def report(store: Any) -> dict[str, Any]:
    """The report's and the exports' outcome section."""
    trend = trends(store)
    entries = store.outcomes.entries(limit=100_000)
    return {
        "schedule": due(store, trend),
        "trends": trend,
        "flares": [
            {"at": _iso(e.at), "note": e.note, "by": e.by} for e in entries if e.kind == "flare"
        ],
        "medication": [
            {"at": _iso(e.at), "medication": e.medication, "dose": e.dose, "note": e.note}
            for e in entries
            if e.kind == "medication"
        ],
        "body_maps": [m.as_dict() for m in store.bodymaps.history(limit=10_000)],
        "entries": [e.as_dict() for e in entries],
    }
