"""Compiling a ``discriminate`` step (issue 16) into ordinary amplitude segments.

The random sequence is seeded and the seed kept in the program, so the record can be
reproduced: the step's own ``seed``, else one drawn from the protocol, the step and how
many discrimination sessions the patient has played (``settings.discrimination``), so
the armed program stays the same until it is played and each session gets a new order.

Balanced per block: every site equally often (counts differ by at most one when the
block does not divide evenly), with probes every (site, probe) pair too; never the same
site more than twice in a row. Every stimulus is an ``AmplitudeSegment`` with ramps at
min(device limit, clinician cap, prescribed x patient scale), so the engine's player,
watchdog and stops play it as any vibration.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from station.errors import Problem
from station.program import AmplitudeSegment, ProgramStep
from station.program_trials import Choice, DiscriminationPlan, Trial
from station.protocols.model import DiscriminateStep, Intensity, Pattern, Protocol
from station.protocols.settings import PatientSettings
from station.protocols.sites import placements
from station.wiring import WiringConfig

MAX_RUN = 2  # the same site at most twice in a row
_TRIES = 2000


def balanced_block(
    sites: list[str], probes: list[str | None], n: int, rng: random.Random, last: list[str]
) -> list[tuple[str, str | None]]:
    """``n`` (site, probe) trials: each site (and pair) as equally often as ``n`` allows,
    shuffled so that no site runs more than ``MAX_RUN`` times (``last``: the trials
    before, so a run does not continue across the rest either)."""
    order = list(sites)
    rng.shuffle(order)  # which sites get the extra stimulus when n does not divide
    pairs = [(s, p) for p in probes for s in order]
    pool = [pairs[k % len(pairs)] for k in range(n)]
    for _ in range(_TRIES):
        out = _draw(pool, rng, last)
        if out is not None:
            return out
    raise RuntimeError("no sequence found within the run limit")  # not reachable for >= 2 sites


def _draw(
    pool: list[tuple[str, str | None]], rng: random.Random, last: list[str]
) -> list[tuple[str, str | None]] | None:
    left = list(pool)
    out: list[tuple[str, str | None]] = []
    tail = list(last[-MAX_RUN:])
    while left:
        run_site = tail[-1] if len(tail) >= MAX_RUN and len(set(tail[-MAX_RUN:])) == 1 else None
        allowed = [i for i, (s, _) in enumerate(left) if s != run_site]
        if not allowed:
            return None
        pick = left.pop(rng.choice(allowed))
        out.append(pick)
        tail.append(pick[0])
    return out


def session_seed(protocol_hash: str, index: int, settings: PatientSettings) -> int:
    played = int(settings.discrimination.get("sessions", 0))
    digest = hashlib.sha256(f"{protocol_hash}:{index}:{played}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def probe_percents(step: DiscriminateStep, settings: PatientSettings) -> dict[str, float]:
    """Each probe's prescribed percent after the adaptive moves earned so far: the
    stronger moves toward the weaker, never closer than the rule's minimum difference."""
    assert step.probes is not None and step.adaptive is not None
    rule = step.adaptive
    weak, strong = sorted(step.probes, key=lambda p: p.intensity.percent or 0.0)
    lo, hi = weak.intensity.percent or 0.0, strong.intensity.percent or 0.0
    closer = int(settings.discrimination.get("closer_steps", 0)) * rule.closer_by_percent
    return {weak.name: lo, strong.name: max(lo + rule.min_difference_percent, hi - closer)}


def compile_step(
    step: DiscriminateStep,
    *,
    index: int,
    start: int,
    label: str,
    where: str,
    protocol: Protocol,
    protocol_hash: str,
    wiring: WiringConfig,
    settings: PatientSettings,
    problems: list[Problem],
) -> ProgramStep:
    """The ProgramStep for ``step`` starting at ``start`` ms; what is wrong (an actuator
    missing or not haptic, two sites on one body site, no threshold) goes to ``problems``."""
    haptics = {h.name: h for h in wiring.haptic}
    placed = placements(wiring, settings)
    problems += placement_problems(step, where=where, haptics=set(haptics), placed=placed)
    seed = step.seed if step.seed is not None else session_seed(protocol_hash, index, settings)
    rng = random.Random(seed)
    probe_names: list[str | None] = [p.name for p in step.probes] if step.probes else [None]
    shapes: dict[str | None, tuple[Intensity, Pattern | None]] = {None: (step.intensity, None)}
    if step.probes:
        shapes = {p.name: (p.intensity, p.pattern) for p in step.probes}
    adapted = probe_percents(step, settings) if step.adaptive else {}

    def level(actuator: str, probe: str | None) -> float:
        h = haptics.get(actuator)
        if h is None:
            return 0.0
        intensity = shapes[probe][0]
        if probe in adapted:
            prescribed = adapted[probe] / 100
        elif intensity.percent is not None:
            prescribed = intensity.percent / 100
        else:
            threshold = settings.detection_thresholds.get(actuator)
            if threshold is None:
                problems.append(
                    Problem(
                        where,
                        f"intensity is relative to the detection "
                        f"threshold, but none is measured for '{actuator}'; "
                        "measure it first",
                    )
                )
                return 0.0
            prescribed = (intensity.times_threshold or 0) * threshold
        top = min(
            h.max_amplitude,
            protocol.caps.max_intensity_percent / 100,
            prescribed * settings.intensity_percent / 100,
        )
        return math.floor(max(0.0, top) * 1e6) / 1e6  # never round up past a limit

    stim, answer = _ms(step.stimulus_s), _ms(step.answer_s)
    gap, rest, ramp = round(step.interval_s * 1000), round(step.rest_s * 1000), _ms(step.ramp_s)
    trials: list[Trial] = []
    segments: list[AmplitudeSegment] = []
    t, history = start, list[str]()
    for b in range(step.blocks):
        if b:
            t += rest - gap
        for site, probe in balanced_block(
            list(step.sites), probe_names, step.stimuli_per_block, rng, history
        ):
            history.append(site)
            trials.append(
                Trial(
                    block=b,
                    index=len(trials),
                    site=site,
                    probe=probe,
                    start_ms=t,
                    stimulus_end_ms=t + stim,
                    answer_end_ms=t + stim + answer,
                )
            )
            pattern = shapes[probe][1]
            lvl = level(site, probe)
            if lvl > 0:
                segments.append(
                    AmplitudeSegment(
                        actuator=site,
                        start_ms=t,
                        duration_ms=stim,
                        level=lvl,
                        ramp_up_ms=ramp,
                        ramp_down_ms=ramp,
                        on_ms=_ms(pattern.on_s) if pattern else None,
                        off_ms=round(pattern.off_s * 1000) if pattern else None,
                    )
                )
            t += stim + answer + gap
    end = t - gap
    plan = DiscriminationPlan(
        seed=seed,
        blocks=step.blocks,
        stimuli_per_block=step.stimuli_per_block,
        feedback=step.feedback,
        choices=tuple(Choice(site=s, body_site=placed.get(s)) for s in step.sites),
        probes=tuple(p for p in probe_names if p is not None),
        probe_levels={p: level(step.sites[0], p) for p in probe_names if p is not None},
        closer_steps=int(settings.discrimination.get("closer_steps", 0)) if adapted else 0,
        advance_at_percent=step.adaptive.after_block_correct_percent if step.adaptive else None,
        trials=tuple(trials),
    )
    return ProgramStep(
        index=index,
        kind="discriminate",
        label=label,
        start_ms=start,
        duration_ms=end - start,
        segments=tuple(segments),
        discrimination=plan,
    )


def placement_problems(
    step: DiscriminateStep, *, where: str, haptics: set[str], placed: dict[str, str | None]
) -> list[Problem]:
    """Every site a haptic actuator of the wiring, each placed on its own body site."""
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for i, name in enumerate(step.sites):
        if name not in haptics:
            out.append(
                Problem(
                    f"{where}.sites[{i}]",
                    "no haptic driver of that name in the "
                    f"wiring (discrimination plays vibration); known: "
                    f"{sorted(haptics) or 'none'}",
                    name,
                    True,
                )
            )
            continue
        body = placed.get(name)
        if body is not None and body in seen:
            out.append(
                Problem(
                    f"{where}.sites[{i}]",
                    f"'{name}' is placed on '{body}', like "
                    f"'{seen[body]}': sites to tell apart must be on different body "
                    "sites; move one pad (the plan's sites) or drop one of them",
                    name,
                    True,
                )
            )
        elif body is not None:
            seen[body] = name
    return out


def cap_problems(protocol: Protocol, step: Any, sp: str) -> list[Problem]:
    """A discriminate step's intensities within the protocol's own cap (load.cross_check)."""
    if not isinstance(step, DiscriminateStep):
        return []
    cap = protocol.caps.max_intensity_percent
    found = [("intensity.percent", step.intensity.percent)]
    found += [
        (f"probes[{i}].intensity.percent", p.intensity.percent)
        for i, p in enumerate(step.probes or [])
    ]
    return [
        Problem(
            f"{sp}.{path}",
            f"above caps.max_intensity_percent ({cap:g}); lower it or raise the cap",
            pct,
            True,
        )
        for path, pct in found
        if pct is not None and pct > cap
    ]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
