"""Where each actuator sits on the body, and the opposite rule checked against it.

A protocol's ``avoid_sites`` (Spicher's opposite rule: never touch the allodynic zone) is
about the skin, not about the words on a step: a vibration step labelled "upper arm"
that drives the pad strapped on the allodynic zone touches the allodynic zone. So the
check here looks at the PLACEMENT of every actuator a step drives.

Where an actuator is placed:
- the wiring file says where the station's build puts it (``site`` of each ``[[haptic]]``
  and ``[[brush]]``; optional, in the protocols' body-site words);
- the patient's plan overrides it per actuator (plan settings ``sites``:
  ``{"forearm": "allodynic-zone"}``). The clinician decides where a pad goes for this
  patient at the visit, the same way they set caps; the patient's own settings page does
  not move pads. The plan's word wins because the same station serves patients whose
  sensitive zone lies in different places.
An actuator with no site in either place is not checked (nothing says where it is); the
step's own ``site`` label is still checked by the protocol validator.

``site_problems`` is called by the compiler for the whole ladder being compiled, so a
plan is refused when ANY level it can progress to would drive an actuator on an avoided
site (the planner's ``check_plan`` compiles every ladder of a plan before writing it),
and a program is never armed with such a step (the wiring may change after the plan).
"""

from __future__ import annotations

from station.errors import Problem
from station.protocols.model import BrushStep, DiscriminateStep, Protocol, TapStep, VibrateStep
from station.protocols.settings import PatientSettings
from station.wiring import WiringConfig


def placements(wiring: WiringConfig, settings: PatientSettings | None) -> dict[str, str | None]:
    """Actuator -> the body site it sits on: the plan's override, else the wiring's."""
    out = wiring.sites()
    for actuator, site in (settings.sites if settings else {}).items():
        if actuator in out:
            out[actuator] = site
    return out


def driven(step: object) -> list[str]:
    """The actuators a protocol step drives (none for manual, rest and rate steps)."""
    if isinstance(step, VibrateStep | TapStep):
        return list(step.actuators)
    if isinstance(step, BrushStep):
        return [step.actuator]
    if isinstance(step, DiscriminateStep):
        return list(step.sites)
    return []


def site_problems(
    protocol: Protocol,
    *,
    wiring: WiringConfig,
    settings: PatientSettings | None,
    ladder: str | None = None,
) -> list[Problem]:
    """Every step of ``ladder`` (every ladder when None) that drives an actuator placed
    on one of the protocol's ``avoid_sites``, and every plan site naming an actuator this
    station does not have. Each problem names the step, the actuator, the site and what
    to change."""
    problems: list[Problem] = []
    known = wiring.sites()
    for actuator, site in (settings.sites if settings else {}).items():
        if actuator not in known:
            problems.append(
                Problem(
                    f"sites.{actuator}",
                    f"this station has no actuator '{actuator}'; known: {sorted(known)}; "
                    "remove it from the plan's sites or fix the name",
                    site,
                    True,
                )
            )
    avoid = set(protocol.avoid_sites)
    if not avoid:
        return problems
    where = placements(wiring, settings)
    for li, lad in enumerate(protocol.ladders):
        if ladder is not None and lad.name != ladder:
            continue
        for vi, level in enumerate(lad.levels):
            for si, step in enumerate(level.steps):
                for actuator in driven(step):
                    placed = where.get(actuator)
                    if placed is None or placed not in avoid:
                        continue
                    label = getattr(step, "label", None) or step.kind  # type: ignore[attr-defined]
                    problems.append(
                        Problem(
                            f"ladders[{li}].levels[{vi}].steps[{si}]",
                            f"step {si + 1} ('{label}') of level '{level.name}' drives "
                            f"actuator '{actuator}', which is placed on '{placed}', a site this "
                            f"protocol avoids (avoid_sites {protocol.avoid_sites}); move the "
                            f"pad to a permitted site ({', '.join(protocol.body_sites)}) and "
                            f"set the plan's sites.{actuator} to it, or choose a protocol "
                            f"that does not use '{actuator}'",
                            placed,
                            True,
                        )
                    )
    return problems
