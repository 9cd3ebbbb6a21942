"""Compile (protocol, level, patient settings, device limits) into a flat, timed Program.

The engine plays a ``station.program.Program`` without taking any decision, so every
decision is taken here: which level (the patient's ranking orders a ranked ladder), how
long each step lasts, and every level and speed clamped by the three layers of limits:

    vibration level = min(device max_amplitude, clinician cap, prescribed x patient scale)
    tap effect      = the strongest effect of the same family within those three
    brush speed     = patient's preferred speed (or the step's), within the clinician cap
                      and the brush's calibrated min/max; acceleration = the device's

A stroke longer than the brush's travel, an actuator missing from the wiring or a level
longer than the session cap is refused with a ``ConfigError``, never silently shortened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from station.errors import ConfigError, Problem
from station.program import (
    AmplitudeSegment,
    BrushSegment,
    Program,
    ProgramStep,
    RatingRequest,
    TapSegment,
)
from station.protocols.discriminate import compile_step as compile_discriminate
from station.protocols.effects import effect, weaker_variant
from station.protocols.load import protocol_hash as hash_of
from station.protocols.model import (
    BrushStep,
    DiscriminateStep,
    Ladder,
    Level,
    ManualStep,
    Protocol,
    RateStep,
    RestStep,
    TapStep,
    VibrateStep,
)
from station.protocols.settings import PatientSettings, check_ranking
from station.protocols.sites import site_problems
from station.protocols.timing import brush_duration_s, exact_leads_ms
from station.wiring import WiringConfig

DEFAULT_LABELS = {
    "vibrate": "Vibration",
    "tap": "Tapping",
    "brush": "Brushing",
    "manual": "Guided step",
    "rest": "Rest",
    "rate": "Rating",
    "discriminate": "Which spot was touched?",
}


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def ordered_levels(
    protocol: Protocol, ladder: Ladder, ranking: Sequence[str] | None
) -> list[Level]:
    """The ladder's levels in play order: file order, or the patient's ranking."""
    if not ladder.ranked_by_patient:
        return list(ladder.levels)
    if ranking is None:
        ids = [lv.id for lv in ladder.levels]
        raise ConfigError(
            _source(protocol),
            [
                Problem(
                    f"rankings.{ladder.name}",
                    f"this ladder is ranked by the patient; record the patient's order of "
                    f"the items first (least irritating first): {ids}",
                )
            ],
        )
    problems = check_ranking(protocol, ladder.name, list(ranking))
    if problems:
        raise ConfigError(_source(protocol), problems)
    by_id = {lv.id: lv for lv in ladder.levels}
    return [by_id[i] for i in ranking]


def compile_program(
    protocol: Protocol,
    *,
    level: int,
    wiring: WiringConfig,
    settings: PatientSettings | None = None,
    ladder: str | None = None,
    ranking: Sequence[str] | None = None,
) -> Program:
    """The program for level ``level`` (0-based, in play order) of ``ladder`` (the first
    when None). ``ranking`` defaults to ``settings.rankings[ladder]``."""
    settings = settings or PatientSettings()
    source = _source(protocol)
    try:
        lad = protocol.ladder(ladder)
    except KeyError as exc:
        raise ConfigError(source, [Problem("ladder", str(exc.args[0]), ladder, True)]) from None
    if ranking is None:
        ranking = settings.rankings.get(lad.name)
    levels = ordered_levels(protocol, lad, ranking)
    if not 0 <= level < len(levels):
        raise ConfigError(
            source,
            [Problem("level", f"ladder '{lad.name}' has levels 0..{len(levels) - 1}", level, True)],
        )
    chosen = levels[level]
    builder = _Builder(protocol=protocol, wiring=wiring, settings=settings, source=source)
    steps: list[ProgramStep] = []
    t = 0
    for i, step in enumerate(chosen.steps):
        built = builder.step(i, step, t, f"{chosen.name} step {i + 1}")
        steps.append(built)
        t = built.end_ms
    # The opposite rule on the skin: any level of this ladder (progression can reach each)
    # driving an actuator placed on an avoided site refuses the program.
    builder.problems += site_problems(protocol, wiring=wiring, settings=settings, ladder=lad.name)
    if builder.problems:
        raise ConfigError(source, builder.problems)
    cap_ms = round(protocol.caps.max_session_minutes * 60_000)
    if t > cap_ms:
        raise ConfigError(
            source,
            [
                Problem(
                    "caps.max_session_minutes",
                    f"level '{chosen.name}' lasts {t / 60000:.2f} min ({t / 1000:.0f} s) "
                    "with these settings, the brush's moves onto and off the skin included, "
                    f"above caps.max_session_minutes ({protocol.caps.max_session_minutes:g} "
                    "min); choose a faster brushing speed or a shorter level",
                    protocol.caps.max_session_minutes,
                    True,
                )
            ],
        )
    return Program(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        protocol_hash=hash_of(protocol),
        level=chosen.name,
        level_index=level,
        stop_threshold=protocol.progression_for(lad.name).stop_threshold,
        steps=tuple(steps),
        duration_ms=t,
    )


def _source(protocol: Protocol) -> str:
    return f"protocol {protocol.id} {protocol.version}"


class _Builder:
    """Turns one protocol step into one ProgramStep, collecting every problem."""

    def __init__(
        self,
        *,
        protocol: Protocol,
        wiring: WiringConfig,
        settings: PatientSettings,
        source: str,
    ) -> None:
        self.protocol = protocol
        self.wiring = wiring
        self.settings = settings
        self.source = source
        self.problems: list[Problem] = []
        self.haptics = {h.name: h for h in wiring.haptic}
        self.brushes = {b.name: b for b in wiring.brush}
        self.hash = hash_of(protocol)  # seeds a discrimination sequence

    def step(self, index: int, step: object, start: int, where: str) -> ProgramStep:
        kind = getattr(step, "kind", "")
        label = getattr(step, "label", None) or DEFAULT_LABELS.get(kind, where)
        common = {"index": index, "kind": kind, "label": label, "start_ms": start}
        if isinstance(step, VibrateStep):
            dur = _ms(step.duration_s)
            segs = tuple(self._vibrate(step, a, start, dur, where) for a in step.actuators)
            return ProgramStep(**common, duration_ms=dur, segments=_real(segs))
        if isinstance(step, TapStep):
            dur = _ms(step.duration_s)
            taps = tuple(self._taps(step, a, start, dur, where) for a in step.actuators)
            return ProgramStep(**common, duration_ms=dur, segments=_real(taps))
        if isinstance(step, BrushStep):
            seg = self._brush(step, start, where)
            dur = seg.duration_ms if seg else 1
            return ProgramStep(**common, duration_ms=dur, segments=_real((seg,)))
        if isinstance(step, ManualStep):
            return ProgramStep(
                **common, duration_ms=_ms(step.duration_s), instruction=step.instruction
            )
        if isinstance(step, RestStep):
            return ProgramStep(
                **common, duration_ms=_ms(step.duration_s), instruction=step.instruction
            )
        if isinstance(step, RateStep):
            rating = RatingRequest(
                pleasantness=step.pleasantness,
                lingering=step.lingering,
                **({"prompt": step.prompt} if step.prompt else {}),
            )
            return ProgramStep(**common, duration_ms=_ms(step.duration_s), rating=rating)
        if isinstance(step, DiscriminateStep):
            return compile_discriminate(step, index=index, start=start, label=label, where=where,
                                        protocol=self.protocol, protocol_hash=self.hash,
                                        wiring=self.wiring, settings=self.settings,
                                        problems=self.problems)  # fmt: skip
        raise TypeError(f"unknown step {step!r}")  # the model admits no other kind

    def _missing(self, where: str, name: str, kind: str, known: set[str]) -> None:
        self.problems.append(
            Problem(
                where,
                f"the wiring has no {kind} named '{name}'; known: {sorted(known) or 'none'}",
                name,
                True,
            )
        )

    def _vibrate(
        self, step: VibrateStep, actuator: str, start: int, dur: int, where: str
    ) -> AmplitudeSegment | None:
        h = self.haptics.get(actuator)
        if h is None:
            self._missing(where, actuator, "haptic driver", set(self.haptics))
            return None
        if step.intensity.percent is not None:
            prescribed = step.intensity.percent / 100
        else:
            threshold = self.settings.detection_thresholds.get(actuator)
            if threshold is None:
                self.problems.append(
                    Problem(
                        where,
                        f"intensity is relative to the detection threshold, but none is "
                        f"measured for '{actuator}'; measure it first",
                    )
                )
                return None
            prescribed = (step.intensity.times_threshold or 0) * threshold
        level = min(
            h.max_amplitude,
            self.protocol.caps.max_intensity_percent / 100,
            prescribed * self.settings.intensity_percent / 100,
        )
        ramp = _ms(step.ramp_s)
        pattern = step.pattern
        return AmplitudeSegment(
            actuator=actuator,
            start_ms=start,
            duration_ms=dur,
            level=math.floor(max(0.0, level) * 1e6) / 1e6,  # never round up past a limit
            ramp_up_ms=ramp,
            ramp_down_ms=ramp,
            on_ms=_ms(pattern.on_s) if pattern else None,
            off_ms=round(pattern.off_s * 1000) if pattern else None,
        )

    def _taps(
        self, step: TapStep, actuator: str, start: int, dur: int, where: str
    ) -> TapSegment | None:
        h = self.haptics.get(actuator)
        if h is None:
            self._missing(where, actuator, "haptic driver", set(self.haptics))
            return None
        wanted = effect(step.effect)
        allowed = min(
            h.max_amplitude * 100,
            self.protocol.caps.max_intensity_percent,
            wanted.strength_percent * self.settings.intensity_percent / 100,
        )
        chosen = weaker_variant(wanted.id, allowed)
        if chosen is None:
            self.problems.append(
                Problem(
                    where,
                    f"'{wanted.name}' has no variant at or below {allowed:.0f} % (device "
                    "limit, cap and patient setting); choose a softer effect family",
                    wanted.name,
                    True,
                )
            )
            return None
        return TapSegment(
            actuator=actuator,
            start_ms=start,
            duration_ms=dur,
            effect_id=chosen.id,
            interval_ms=max(1, round(1000 / step.taps_per_second)),
        )

    def _brush(self, step: BrushStep, start: int, where: str) -> BrushSegment | None:
        b = self.brushes.get(step.actuator)
        if b is None:
            self._missing(where, step.actuator, "brush", set(self.brushes))
            return None
        if step.stroke_cm > b.travel_cm:
            self.problems.append(
                Problem(
                    where,
                    f"a {step.stroke_cm:g} cm stroke is longer than brush '{b.name}' travel "
                    f"({b.travel_cm:.1f} cm); shorten stroke_cm or recalibrate the brush",
                    step.stroke_cm,
                    True,
                )
            )
            return None
        wanted = step.speed_cm_s
        if step.patient_speed and self.settings.brush_speed_cm_s is not None:
            wanted = self.settings.brush_speed_cm_s
        top = min(b.max_speed_cm_s, self.protocol.caps.max_brush_speed_cm_s)
        speed = max(b.min_speed_cm_s, min(top, wanted))
        if speed > top:  # the calibrated minimum is above the cap: nothing is allowed
            self.problems.append(
                Problem(
                    where,
                    f"brush '{b.name}' cannot go slower than {b.min_speed_cm_s:g} cm/s, above "
                    f"the cap of {top:g} cm/s",
                )
            )
            return None
        accel = b.max_accel_cm_s2
        seconds = brush_duration_s(step, speed, accel)
        # The timed moves park -> first stroke and last stroke -> park lie inside the
        # segment, so the step's duration is what the brush really takes.
        lead_in, lead_out = exact_leads_ms(step, b, speed)
        return BrushSegment(
            actuator=b.name,
            start_ms=start,
            duration_ms=lead_in + max(1, math.ceil(seconds * 1000)) + lead_out,
            lead_in_ms=lead_in,
            lead_out_ms=lead_out,
            speed_cm_s=speed,
            stroke_cm=step.stroke_cm,
            strokes=step.strokes,
            pause_ms=round(step.pause_s * 1000),
            direction=step.direction,
            accel_cm_s2=accel,
        )


def _real(segs: Sequence[object]) -> tuple:
    return tuple(s for s in segs if s is not None)
