"""What the patient does once before a ladder can be played: rank its items, measure a
detection threshold.

A clinician assigns a patient-ranked protocol (fabrics, textures, rice and lentils) or one
whose intensities are multiples of the patient's detection threshold before the patient
has ranked or been measured: that is the intake, done on the Today page (the ranking
list) and the Thresholds page. Until then the ladder is *waiting for intake*: the plan is
assigned and shown, stops work, and a start is refused naming what to do first. The
ladder is compiled (and so checked whole) once its intake is recorded: recording a
ranking or a threshold runs the planner's plan check before it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.i18n import _
from station.protocols.model import Protocol, VibrateStep
from station.protocols.settings import PatientSettings


@dataclass(frozen=True)
class IntakeNeed:
    kind: str  # "ranking" | "threshold"
    name: str  # the ladder to rank, or the actuator to measure
    ladder: str
    text: str


def needs(protocol: Protocol, settings: PatientSettings, ladder: str) -> list[IntakeNeed]:
    """What ``ladder`` of ``protocol`` still waits for, in the order to do it."""
    lad = protocol.ladder(ladder)
    out: list[IntakeNeed] = []
    if lad.ranked_by_patient and ladder not in settings.rankings:
        out.append(
            IntakeNeed(
                "ranking",
                ladder,
                ladder,
                _("order the items of '%(ladder)s' from least to most irritating "
                  "(Today page, at intake)", ladder=ladder),
            )
        )
    relative = sorted(
        {
            actuator
            for level in lad.levels
            for step in level.steps
            if isinstance(step, VibrateStep) and step.intensity.times_threshold is not None
            for actuator in step.actuators
        }
    )
    for actuator in relative:
        if actuator not in settings.detection_thresholds:
            out.append(
                IntakeNeed(
                    "threshold",
                    actuator,
                    ladder,
                    _("measure the detection threshold on '%(actuator)s' (Thresholds page)",
                      actuator=actuator),
                )
            )
    return out


def message(pending: list[IntakeNeed]) -> str:
    return _("Before the first session: %(todo)s.", todo="; ".join(n.text for n in pending))
