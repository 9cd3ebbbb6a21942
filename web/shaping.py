"""Data shaped for the page: protocol lists, previews, history, settings forms, exports.

These read the record and the library through the coordinator and return JSON-safe
dicts; they decide nothing (the coordinator and planner do). Kept out of the views so
the HTML pages and the JSON API show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Literal

from station.errors import ConfigError, Problem
from station.i18n import N_, _
from station.program import AmplitudeSegment, BrushSegment, Program, TapSegment
from station.protocols import library
from station.protocols.compiler import compile_program
from station.protocols.model import Caps
from station.storage import export

PREVIEW_POINTS_MAX = 4000


def protocols(coord: Any) -> list[dict[str, Any]]:
    out = []
    for s in library.list_protocols(coord.data_dir):
        try:
            p = library.get_protocol(coord.data_dir, s.id, s.version)
        except ConfigError:
            continue
        out.append(
            {
                "id": s.id,
                "version": s.version,
                "name": s.name,
                "hash": s.hash,
                "builtin": s.builtin,
                "levels": [f"{lad.name}/{i}" for lad in p.ladders for i in range(len(lad.levels))],
                "level_names": [f"{lad.name}: {lv.name}" for lad in p.ladders for lv in lad.levels],
            }
        )
    return out


def protocol_text(coord: Any, protocol_id: str) -> str:
    return library.find_protocol(coord.data_dir, protocol_id).path.read_text(encoding="utf-8")


def import_protocol(
    coord: Any, text: str, *, fmt: Literal["toml", "json"] | None
) -> dict[str, Any]:
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "toml"
    result = library.import_text(
        coord.data_dir, text, fmt=fmt, source="upload", wiring=coord.planner.wiring
    )
    return {
        "id": result.id,
        "version": result.version,
        "hash": result.hash,
        "status": result.status,
    }


def preview(coord: Any, protocol_id: str, level: str, *, version: str | None = None
            ) -> dict[str, Any]:  # fmt: skip
    """The compiled program of one level (of ``version``; None: the newest), and per
    actuator its intensity over time."""
    planner = coord.planner
    protocol = planner.effective(library.get_protocol(coord.data_dir, protocol_id, version))
    ladder, index = planner.find_level(protocol, level)
    program = compile_program(
        protocol, level=index, wiring=planner.wiring, settings=planner.settings(), ladder=ladder
    )
    return {
        "protocol_id": protocol.id,
        "version": protocol.version,
        "ladder": ladder,
        "level": f"{ladder}/{index}",
        "level_name": program.level,
        "duration_ms": program.duration_ms,
        "steps": [
            {
                "index": s.index,
                "kind": s.kind,
                "label": s.label,
                "start_ms": s.start_ms,
                "duration_ms": s.duration_ms,
                "instruction": s.instruction,
            }
            for s in program.steps
        ],
        "series": intensity_series(program, planner.wiring),
    }


def intensity_series(program: Program, wiring: Any) -> dict[str, list[list[float]]]:
    """Per actuator, [seconds, 0..1] corner points: ramps, bursts, taps and brush speed
    (as a fraction of the brush's maximum speed)."""
    max_speed = {b.name: b.max_speed_cm_s for b in wiring.brush}
    out: dict[str, list[list[float]]] = {}
    for step in program.steps:
        for seg in step.segments:
            pts = out.setdefault(seg.actuator, [])
            t0, t1 = seg.start_ms / 1000, seg.end_ms / 1000
            if isinstance(seg, AmplitudeSegment):
                bursts = [(seg.start_ms, seg.end_ms)]
                if seg.on_ms:
                    period = seg.on_ms + (seg.off_ms or 0)
                    bursts = [
                        (t, min(t + seg.on_ms, seg.end_ms))
                        for t in range(seg.start_ms, seg.end_ms, period)
                    ]
                for a, b in bursts[: PREVIEW_POINTS_MAX // 4]:
                    up = min(seg.ramp_up_ms, (b - a) // 2)
                    down = min(seg.ramp_down_ms, (b - a) // 2)
                    pts += [
                        [a / 1000, 0],
                        [(a + up) / 1000, seg.level],
                        [(b - down) / 1000, seg.level],
                        [b / 1000, 0],
                    ]
            elif isinstance(seg, TapSegment):
                for t in range(seg.start_ms, seg.end_ms, seg.interval_ms)[
                    : PREVIEW_POINTS_MAX // 3
                ]:
                    pts += [[t / 1000, 0], [t / 1000 + 0.001, 1.0], [t / 1000 + 0.05, 0]]
            elif isinstance(seg, BrushSegment):
                frac = min(1.0, seg.speed_cm_s / max_speed.get(seg.actuator, seg.speed_cm_s))
                pts += [[t0, 0], [t0 + 0.001, frac], [t1 - 0.001, frac], [t1, 0]]
    for pts in out.values():
        pts.sort(key=lambda p: p[0])
        # uPlot needs strictly increasing x per series once aligned; nudge duplicates.
        for i in range(1, len(pts)):
            if pts[i][0] <= pts[i - 1][0]:
                pts[i][0] = pts[i - 1][0] + 0.0005
    return out


def history(coord: Any) -> dict[str, Any]:
    """Ratings over time per stimulus (protocol ladder and level) and the level ladder."""
    store = coord.store
    ratings: list[dict[str, Any]] = []
    for s in export.all_sessions(store):
        stimulus = f"{s.ladder}: {s.level_name or s.level}"
        for r in s.ratings:
            ratings.append(
                {
                    "t": r.at.timestamp(),
                    "at": r.at.isoformat(),
                    "value": r.value,
                    "live": r.live,
                    "stimulus": stimulus,
                    "session_id": s.id,
                }
            )
    levels = [
        {"t": c.at.timestamp(), "at": c.at.isoformat(), "ladder": c.ladder, "level": c.to_level}
        for c in store.progress.level_history()
    ]
    ratings.sort(key=lambda r: r["t"])
    return {"ratings": ratings, "levels": levels}


SETTING_FIELDS = (
    (
        "intensity_percent",
        N_("Intensity (percent of what your clinician prescribed)"),
        "number",
        1,
        N_("100 means as prescribed; lower it if it is too much."),
    ),
    (
        "brush_speed_cm_s",
        N_("Brushing speed (cm/s)"),
        "number",
        0.1,
        N_("About 3 cm/s feels most pleasant to many people."),
    ),
    ("reminder_times", N_("Reminder times"), "times", None, N_("Times of day, e.g. 08:00, 13:00")),
)


def get_settings(coord: Any) -> dict[str, Any]:
    planner = coord.planner
    plan = planner.store.plans.get()
    settings = planner.settings().model_dump(mode="json")
    protocol = planner.protocol()
    caps = planner.effective(protocol).caps if protocol else None
    cap_for = {
        "intensity_percent": (100.0, "100 %"),
        "brush_speed_cm_s": (caps.max_brush_speed_cm_s, f"{caps.max_brush_speed_cm_s:g} cm/s")
        if caps
        else (None, ""),
        "reminder_times": (caps.sessions_per_day, _("%(n)s a day", n=caps.sessions_per_day))
        if caps
        else (None, ""),
    }
    fields = []
    for name, label, kind, step, help_text in SETTING_FIELDS:
        value = settings.get(name)
        cap, cap_text = cap_for[name]
        fields.append(
            {
                "name": name,
                "label": _(label),
                "kind": kind,
                "step": step,
                "help": _(help_text),
                "value": value,
                "cap": cap,
                "cap_text": cap_text,
                "min": 0.1 if kind == "number" else None,
                "value_text": ", ".join(value) if isinstance(value, list) else value,
            }
        )
    proto_caps = protocol.caps.model_dump() if protocol else {}
    eff = caps.model_dump() if caps else {}
    cap_rows = []
    for name, info in Caps.model_fields.items():
        cap_rows.append(
            {
                "name": name,
                "label": f"{name.replace('_', ' ')} (protocol: {proto_caps.get(name)})",
                "value": eff.get(name),
                "step": 1 if name == "sessions_per_day" else 0.1,
                "min": 0,
                "max": None,
                "help": info.description or "",
            }
        )
    return {
        "revision": plan.revision if plan is not None else None,
        "settings": settings,
        "fields": fields,
        "caps": cap_rows,
        "protocol_caps": proto_caps,
        "effective_caps": eff,
    }


def report(coord: Any) -> dict[str, Any]:
    per_day, _gap = coord.planner.limits()
    return export.report_data(coord.store, sessions_per_day=per_day)


def export_body(coord: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(export.export_json(coord.store), indent=2, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        export.export_csv(coord.store, path)
        return path.read_text(encoding="utf-8-sig")


def csv_rows(text: str) -> list[dict[str, str]]:
    """For tests and tools: parse an export back."""
    return list(csv.DictReader(io.StringIO(text)))


def problems_of(exc: ConfigError) -> list[dict[str, Any]]:
    return [p.as_dict() for p in exc.problems] or [Problem("", str(exc)).as_dict()]
