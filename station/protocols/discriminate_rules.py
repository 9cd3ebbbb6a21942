"""Field rules of a ``discriminate`` step (``station.protocols.model.DiscriminateStep``)
that span its fields: ramps fit the stimulus and each probe's bursts, each site once,
the step's length, two clearly different probes, an adaptive rule that fits the probes.

"Clearly different" probes: the stronger at least ``PROBE_RATIO_MIN`` times the weaker
(the Weber fraction for vibrotactile amplitude is about 0.2-0.4, so 1.5 is well above
the just-noticeable difference), or different patterns (told apart by their rhythm).
"""

from __future__ import annotations

from typing import Any

PROBE_RATIO_MIN = 1.5


def discriminate_problem(step: Any, *, max_step_s: float) -> str | None:
    """The first rule ``step`` breaks, as the clinician reads it; None when it is valid."""
    if 2 * step.ramp_s > step.stimulus_s:
        return (
            f"ramp_s ({step.ramp_s} s) up and down must fit in stimulus_s ({step.stimulus_s} s); "
            f"use ramp_s <= {step.stimulus_s / 2:g}"
        )
    if len(set(step.sites)) != len(step.sites):
        return f"sites {step.sites} names an actuator twice; list each site once"
    if step.duration_s > max_step_s:
        return (
            f"the step lasts {step.duration_s:.0f} s, above {max_step_s:.0f} s; use fewer "
            "stimuli or blocks, or shorter answer, interval or rest times"
        )
    if step.probes is not None:
        why = _probes_problem(step.probes, step.ramp_s)
        if why:
            return why
    if step.adaptive is not None:
        return _adaptive_problem(step.adaptive, step.probes)
    return None


def _probes_problem(probes: list[Any], ramp_s: float) -> str | None:
    if len(probes) != 2:
        return f"probes: give exactly two (got {len(probes)}), or leave probes out"
    a, b = probes
    if a.name == b.name:
        return f"probes: both are named '{a.name}'; name them differently"
    for p in probes:
        if p.pattern is not None and 2 * ramp_s > p.pattern.on_s:
            return (
                f"probe '{p.name}': ramp_s ({ramp_s} s) up and down must fit in each burst "
                f"({p.pattern.on_s} s); use ramp_s <= {p.pattern.on_s / 2:g}"
            )
    if a.pattern != b.pattern:
        return None
    ia, ib = a.intensity, b.intensity
    if (ia.percent is None) != (ib.percent is None):
        return (
            "probes: with the same pattern give both intensities in one unit (percent or "
            "times_threshold), so that their difference is known"
        )
    lo, hi = sorted([ia.percent or ia.times_threshold, ib.percent or ib.times_threshold])
    if hi < PROBE_RATIO_MIN * lo:
        return (
            f"probes '{a.name}' and '{b.name}' are not clearly different ({lo:g} and {hi:g}); "
            f"make the stronger at least {PROBE_RATIO_MIN:g} x the weaker, or give them "
            "different patterns"
        )
    return None


def _adaptive_problem(rule: Any, probes: list[Any] | None) -> str | None:
    if probes is None:
        return "adaptive moves the probes closer together: it needs probes"
    if any(p.intensity.percent is None for p in probes):
        return "adaptive works in points of full scale: give both probes' intensity as percent"
    lo, hi = sorted(p.intensity.percent for p in probes)
    if rule.min_difference_percent > hi - lo:
        return (
            f"adaptive.min_difference_percent ({rule.min_difference_percent:g}) is more than the "
            f"probes' difference ({hi - lo:g} points); use at most {hi - lo:g}"
        )
    return None
