"""Plain-text views of a protocol for `station protocol show`: its ladders and a timeline
of one compiled level, so a clinician can check what the station will do, second by
second, before a patient feels it."""

from __future__ import annotations

from station.program import AmplitudeSegment, BrushSegment, Program, TapSegment
from station.protocols.effects import effect
from station.protocols.model import Protocol
from station.protocols.timing import level_duration_s


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 60:02d}:{s % 60:02d}"


def render_ladders(protocol: Protocol) -> str:
    p = protocol
    lines = [
        f"{p.name}  ({p.id} version {p.version}, by {p.author})",
        f"body sites: {', '.join(p.body_sites)}"
        + (f"; never touch: {', '.join(p.avoid_sites)}" if p.avoid_sites else ""),
        f"caps: intensity <= {p.caps.max_intensity_percent:g} %, brushing <= "
        f"{p.caps.max_brush_speed_cm_s:g} cm/s, session <= {p.caps.max_session_minutes:g} min, "
        f"{p.caps.sessions_per_day}/day, >= {p.caps.min_minutes_between_sessions:g} min apart",
    ]
    for ladder in p.ladders:
        rule = p.progression_for(ladder.name)
        order = "ranked by the patient" if ladder.ranked_by_patient else "fixed order"
        lines += [
            "",
            f"ladder '{ladder.name}' ({ladder.modality}, {order})",
            f"  progression: up after {rule.advance_after_sessions} session(s) over "
            f"{rule.advance_min_days} day(s) with {rule.rating} discomfort <= "
            f"{rule.advance_max_rating}; back after {rule.back_after_sessions} rated >= "
            f"{rule.back_min_rating}; live stop at {rule.stop_threshold}",
        ]
        for i, level in enumerate(ladder.levels):
            ident = f" [{level.id}]" if level.id else ""
            minutes = level_duration_s(level) / 60
            kinds = ", ".join(s.kind for s in level.steps)
            lines.append(f"  {i}. {level.name}{ident}  ~{minutes:.1f} min: {kinds}")
    return "\n".join(lines)


def _what(seg: object) -> str:
    if isinstance(seg, AmplitudeSegment):
        text = f"vibrate {seg.level * 100:.0f} % (ramp {seg.ramp_up_ms} ms)"
        if seg.on_ms is not None:
            text += f", {seg.on_ms} ms on / {seg.off_ms} ms off"
        return text
    if isinstance(seg, TapSegment):
        return f"tap '{effect(seg.effect_id).name}' every {seg.interval_ms} ms"
    if isinstance(seg, BrushSegment):
        return (
            f"{seg.strokes} stroke(s) of {seg.stroke_cm:g} cm at {seg.speed_cm_s:g} cm/s, "
            f"{seg.pause_ms} ms apart, {seg.direction}"
        )
    return "?"


def render_timeline(program: Program) -> str:
    lines = [
        f"level {program.level_index}: {program.level}  "
        f"({_clock(program.duration_ms)} total, live stop at rating {program.stop_threshold})",
        f"{'time':>11}  {'step':<34} {'actuator':<10} what",
    ]
    for step in program.steps:
        span = f"{_clock(step.start_ms)}-{_clock(step.end_ms)}"
        label = step.label[:34]
        if step.segments:
            for seg in step.segments:
                lines.append(f"{span:>11}  {label:<34} {seg.actuator:<10} {_what(seg)}")
                span, label = "", ""
        elif step.rating is not None:
            extra = [
                x
                for x, on in (
                    ("pleasantness", step.rating.pleasantness),
                    ("lingering", step.rating.lingering),
                )
                if on
            ]
            asks = "discomfort 0-10" + "".join(f" + {x}" for x in extra)
            lines.append(f"{span:>11}  {label:<34} {'-':<10} rate: {asks}")
        else:
            what = f"{step.kind}: {step.instruction or ''}".strip().rstrip(":")
            lines.append(f"{span:>11}  {label:<34} {'-':<10} {what}")
    return "\n".join(lines)
