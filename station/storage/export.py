"""Exports for the clinician and for moving the record: JSON, CSV and the report's data.

JSON is the whole record (never password hashes) with a header naming the station and
schema versions and the hash of every protocol version used, so a reader can tell which
protocol text produced which session. CSV is one row per delivered step with its ratings,
for a spreadsheet: a header row, ISO times, UTF-8 with a BOM (so Excel detects UTF-8),
and text a patient typed is guarded against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

from station import __version__
from station.storage import outcome_report
from station.storage.discrimination import discrimination_of, discrimination_report
from station.storage.limits import local
from station.storage.models import Session
from station.storage.store import Store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    "session_id",
    "session_state",
    "protocol_id",
    "protocol_version",
    "ladder",
    "level",
    "level_name",
    "session_started_at",
    "session_ended_at",
    "end_reason",
    "ended_by",
    "step_index",
    "step_kind",
    "step_label",
    "step_started_at",
    "step_finished_at",
    "delivered",
    "discomfort",
    "discomfort_live_max",
    "live_ratings",
    "pleasantness",
    "lingering",
    "lingering_where",
    "session_discomfort",
    "journal",
    "journal_trigger",
    "decision",
    "decision_reason",
]


def all_sessions(store: Store) -> list[Session]:
    return store.sessions.between(_EPOCH, _FAR, full=True, played=True)  # started only


def export_json(store: Store) -> dict[str, Any]:
    """The whole record as JSON-safe data (``json.dumps`` it as is)."""
    sessions = all_sessions(store)
    hashes = sorted({(s.protocol_id, s.protocol_version, s.protocol_hash) for s in sessions})
    plan = store.plans.get()
    return {
        "header": {
            "format": "station-export",
            "station_version": __version__,
            "schema_version": store.schema_version,
            "exported_at": store.now().astimezone(UTC).isoformat(timespec="milliseconds"),
            "protocols": [
                {"protocol_id": p, "protocol_version": v, "protocol_hash": h} for p, v, h in hashes
            ],
        },
        # One patient's record: its patient, its own accounts and the clinicians'.
        "patient": store.patients.get(store.patient_id).as_dict(),
        "users": [
            u.as_dict()
            for u in store.users.all()
            if u.patient_id is None or u.patient_id == store.patient_id
        ],
        "plan": plan.as_dict() if plan else None,
        "level_history": [c.as_dict() for c in store.progress.level_history()],
        "sessions": [s.as_dict() for s in sessions],
        "journal_without_session": [
            j.as_dict() for j in store.journal.entries(standalone=True, limit=10000)
        ][::-1],
        "reminders": [
            {"id": r["id"], "at": r["at"].isoformat(timespec="milliseconds"), "kind": r["kind"]}
            for r in store.reminders.between(_EPOCH, _FAR)
        ],
        # Body maps, VAS, flares, medication, the schedule and each measure's trend.
        "outcomes": outcome_report.report(store),
        # Every discrimination stimulus: site (probe) driven, what was named, correct, missed.
        "discrimination_trials": [
            t.as_dict() for t in discrimination_of(store).between(_EPOCH, _FAR)
        ],
    }


def write_json(store: Store, path: Path) -> Path:
    path.write_text(
        json.dumps(export_json(store), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def export_csv(store: Store, path: Path) -> int:
    """Write one row per step (a session without recorded steps still gets one row);
    returns the number of data rows."""
    rows = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for s in all_sessions(store):
            for row in _session_rows(s):
                writer.writerow(row)
                rows += 1
    return rows


def _session_rows(s: Session) -> list[dict[str, Any]]:
    session_level = [r for r in s.ratings if r.step_index is None and not r.live]
    base = {
        "session_id": s.id,
        "session_state": s.state,
        "protocol_id": s.protocol_id,
        "protocol_version": s.protocol_version,
        "ladder": s.ladder,
        "level": s.level,
        "level_name": _safe(s.level_name),
        "session_started_at": _iso(s.started_at),
        "session_ended_at": _iso(s.ended_at),
        "end_reason": _safe(s.end_reason),
        "ended_by": _safe(s.ended_by),
        "session_discomfort": session_level[-1].value if session_level else "",
        "journal": _safe(" | ".join(j.text for j in s.journal)),
        "journal_trigger": _safe(" | ".join(j.trigger for j in s.journal if j.trigger)),
        "decision": s.decision.action if s.decision else "",
        "decision_reason": _safe(s.decision.reason) if s.decision else "",
    }
    out = []
    for step in s.steps:
        after = [r for r in s.ratings if r.step_index == step.step_index and not r.live]
        live = [r.value for r in s.ratings if r.step_index == step.step_index and r.live]
        last = after[-1] if after else None  # a corrected rating replaces the earlier one
        out.append(
            {
                **base,
                "step_index": step.step_index,
                "step_kind": step.kind,
                "step_label": _safe(step.label),
                "step_started_at": _iso(step.started_at),
                "step_finished_at": _iso(step.finished_at),
                "delivered": json.dumps(step.delivered, sort_keys=True),
                "discomfort": last.value if last else "",
                "discomfort_live_max": max(live) if live else "",
                "live_ratings": " ".join(map(str, live)),
                "pleasantness": last.pleasantness if last and last.pleasantness is not None else "",
                "lingering": _yes_no(last.lingering) if last else "",
                "lingering_where": _safe(last.lingering_where) if last else "",
            }
        )
    return out or [base]


def report_data(
    store: Store,
    *,
    sessions_per_day: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """What the clinician's printable page shows: ratings over time, level history and
    adherence (done vs prescribed per day). Defaults to the last 28 days. JSON-safe."""
    today = local(store.now(), store.tz).date()
    end = end or today
    start = start or end - timedelta(days=27)
    plan = store.plans.get()
    sessions = [
        s
        for s in all_sessions(store)
        if s.started_at is not None and start <= local(s.started_at, store.tz).date() <= end
    ]
    points = []
    for s in sessions:
        after = [r.value for r in s.ratings if not r.live]
        live = [r.value for r in s.ratings if r.live]
        points.append(
            {
                "session_id": s.id,
                "started_at": _iso(s.started_at),
                "state": s.state,
                "ladder": s.ladder,
                "level": s.level,
                "level_name": s.level_name,
                "discomfort_mean": round(mean(after), 2) if after else None,
                "discomfort_max": max(after) if after else None,
                "discomfort_last": after[-1] if after else None,
                "live_max": max(live) if live else None,
                "pleasantness_mean": _mean(
                    [r.pleasantness for r in s.ratings if r.pleasantness is not None]
                ),
                "decision": s.decision.action if s.decision else None,
            }
        )
    days = store.progress.adherence(start, end, sessions_per_day=sessions_per_day)
    # Each day against what was prescribed that day; days before the plan count nothing.
    counted = [d.prescribed for d in days if d.prescribed is not None]
    prescribed = sum(counted) if counted else None
    done = sum(d.completed for d in days if d.prescribed is not None or prescribed is None)
    return {
        "generated_at": _iso(store.now()),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "plan": plan.as_dict() if plan else None,
        "ratings_over_time": points,
        "level_history": [c.as_dict() for c in store.progress.level_history()],
        "adherence": {
            "days": [d.as_dict() for d in days],
            "sessions_completed": done,
            "sessions_started": sum(
                d.started for d in days if d.prescribed is not None or prescribed is None
            ),
            "sessions_prescribed": prescribed,
            "percent": round(100 * done / prescribed, 1) if prescribed else None,
        },
        "discrimination": discrimination_report(store, start=start, end=end),  # issue 16
        "stopped_sessions": [
            {"session_id": s.id, "reason": s.end_reason, "by": s.ended_by, "at": _iso(s.ended_at)}
            for s in sessions
            if s.state in ("stopped", "aborted")
        ],
        "outcomes": outcome_report.report(store),  # each scheduled measure as a trend
    }


def _mean(values: list[int]) -> float | None:
    return round(mean(values), 2) if values else None


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="milliseconds") if when else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _safe(text: str | None) -> str:
    """Text people typed, made inert for spreadsheets (a leading = + - @ starts a formula)."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text
