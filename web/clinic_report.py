"""The clinician's report of ONE patient over a chosen period: the page and its PDF.

``?patient=ID`` (default: the active patient; see ``clinic_shape.reviewed_patient``) and
``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the last 28 days up to today, on the
station's clock and in its zone). Everything is computed while acting for that patient
(``coord.patients.acting_for``), so the planner, the record and the outcome measures are
that patient's and no other's. The PDF is the same numbers drawn by WeasyPrint, with the
charts as server-side SVG (``web.svgchart``): a PDF runs no JavaScript.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, render_template

from station.i18n import _
from station.storage import export
from station.storage.limits import local
from web import clinic_shape, svgchart
from web.errors import ApiError

DEFAULT_DAYS = 28
MAX_DAYS = 3660
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    if not _DAY.match(raw):
        raise ApiError(400, "invalid_input", f"{field} must be a day written YYYY-MM-DD, such as "
                       f"2025-03-01 (got {raw!r})", field=field, value=raw)  # fmt: skip
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_input", f"{field} {raw!r} is not a day of the calendar; "
                       "use YYYY-MM-DD", field=field, value=raw) from None  # fmt: skip


def period(store: Any, start_raw: str | None, end_raw: str | None) -> tuple[date, date]:
    """The report's days: ``from``..``to`` inclusive, in the station's zone."""
    today = local(store.now(), store.tz).date()
    end = parse_day("to", end_raw) or today
    start = parse_day("from", start_raw) or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ApiError(400, "invalid_input", f"to ({end}) is before from ({start}); choose a "
                       "'to' day on or after the 'from' day", field="to",
                       value=end.isoformat())  # fmt: skip
    if (end - start).days >= MAX_DAYS:
        raise ApiError(400, "invalid_input", f"the period from {start} to {end} is longer than "
                       "ten years; choose a shorter period", field="from",
                       value=start.isoformat())  # fmt: skip
    return start, end


def build(*, patient_raw: str | None, start_raw: str | None, end_raw: str | None
          ) -> dict[str, Any]:  # fmt: skip
    """The report's numbers for one patient and period (JSON-safe) plus its words."""
    coord = _coord()
    patient = clinic_shape.reviewed_patient(coord, patient_raw)
    with coord.patients.acting_for(patient.id):
        store = coord.store
        start, end = period(store, start_raw, end_raw)
        plan = store.plans.get()
        per_day = coord.planner.limits()[0] if plan is not None else None  # none prescribed
        data = export.report_data(store, sessions_per_day=per_day, start=start, end=end)
        now, tz = store.now(), store.tz
        journal = [
            e
            for e in store.journal.entries(limit=10000)
            if start <= local(e.at, tz).date() <= end
        ]
    in_period = [
        c for c in data["level_history"]
        if start <= local(datetime.fromisoformat(c["at"]), tz).date() <= end
    ]  # fmt: skip
    for p in data["ratings_over_time"]:
        p["when"] = clinic_shape.human_time(p["started_at"], tz=tz, now=now)
        p["state_words"] = _(clinic_shape.STATE_WORDS.get(p["state"], p["state"]))
    for c in data["level_history"]:
        c["when"] = clinic_shape.human_time(c["at"], tz=tz, now=now)
    for s in data["stopped_sessions"]:
        s["when"] = clinic_shape.human_time(s["at"], tz=tz, now=now)
        s["words"] = _(clinic_shape.REASON_WORDS.get(s["reason"] or "", s["reason"] or "-"))
    data.update(
        patient={"id": patient.id, "display_name": patient.display_name,
                 "enrolled_on": patient.enrolled_on.isoformat()},
        period_words=_("%(start)s to %(end)s", start=clinic_shape.human_day(start),
                       end=clinic_shape.human_day(end)),
        generated_words=clinic_shape.human_time(now, tz=tz, now=now),
        journal=[
            {"when": clinic_shape.human_time(e.at, tz=tz, now=now), "at": e.at.isoformat(),
             "text": e.text, "trigger": e.trigger, "session_id": e.session_id, "by": e.by}
            for e in reversed(journal)
        ],
        level_changes_in_period=in_period,
    )  # fmt: skip
    return data


def charts(data: dict[str, Any]) -> dict[str, Any]:
    """The report's three charts as SVG: ratings per session, levels, adherence per day."""
    ends = (data["period"]["start"], data["period"]["end"])

    def t(iso: str) -> float:
        return datetime.fromisoformat(iso).timestamp()

    ratings: dict[str, list[tuple[float, float]]] = {"mean discomfort": [], "max discomfort": []}
    for p in data["ratings_over_time"]:
        if p["discomfort_mean"] is not None:
            ratings["mean discomfort"].append((t(p["started_at"]), p["discomfort_mean"]))
        if p["discomfort_max"] is not None:
            ratings["max discomfort"].append((t(p["started_at"]), p["discomfort_max"]))
    levels: dict[str, list[tuple[float, float]]] = {}
    for c in data["level_history"]:
        levels.setdefault(c["ladder"], []).append((t(c["at"]), c["to_level"] + 1))
    days = data["adherence"]["days"]
    done = [(float(i), float(d["completed"])) for i, d in enumerate(days)]
    asked = [(float(i), float(d["prescribed"])) for i, d in enumerate(days)
             if d["prescribed"] is not None]  # fmt: skip
    adherence = {"completed": done, **({"prescribed": asked} if asked else {})}
    return {
        "ratings": svgchart.line_chart({k: v for k, v in ratings.items() if v},
                                       title="Discomfort after each session (0-10)",
                                       y_range=(0, 10), y_label="0-10", x_labels=ends),
        "levels": svgchart.line_chart(levels, title="Level over time (1 = first level)",
                                      y_label="level", stepped=True, x_labels=ends),
        "adherence": svgchart.line_chart(adherence, title="Sessions per day",
                                         y_label="sessions", x_labels=ends),
    }  # fmt: skip


def page(args: Any) -> Any:
    data = build(patient_raw=args.get("patient"), start_raw=args.get("from"),
                 end_raw=args.get("to"))  # fmt: skip
    return render_template("report.html", report=data, patients=clinic_shape.desk(_coord()))


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    """The PDF is self-contained: WeasyPrint may fetch nothing (no file, no network)."""
    raise ValueError(f"the report fetches nothing ({url[:80]})")


def pdf(args: Any) -> tuple[bytes, str]:
    """The report as a PDF file and its download name."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # the package, or Pango, is missing
        raise ApiError(503, "unavailable", f"the PDF cannot be made on this station ({exc}); "
                       "install the report extra (pip install 'station[report]') and Pango "
                       "(apt-get install libpango-1.0-0 libpangoft2-1.0-0)") from None  # fmt: skip
    data = build(patient_raw=args.get("patient"), start_raw=args.get("from"),
                 end_raw=args.get("to"))  # fmt: skip
    html = render_template("report_pdf.html", report=data, charts=charts(data))
    body = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    assert body is not None
    slug = re.sub(r"[^A-Za-z0-9]+", "-", data["patient"]["display_name"]).strip("-") or "patient"
    name = f"report-{slug}-{data['period']['start']}-to-{data['period']['end']}.pdf"
    return body, name
