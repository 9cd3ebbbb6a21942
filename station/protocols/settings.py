"""Patient settings: the third layer of limits, always inside the clinician's caps.

The patient may turn the intensity down (a scale, never above 100 % of what the protocol
prescribes), pick a preferred brushing speed (CT-optimal speed differs between people),
set reminder times and carry measured detection thresholds per actuator (for intensities
written as a multiple of the threshold). ``check_settings`` is what the web layer calls
before saving: a value above a cap is refused with the cap shown.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from station.errors import Problem
from station.protocols.model import SLUG, Protocol, VibrateStep
from station.wiring import WiringConfig

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class PatientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    intensity_percent: float = Field(
        100, gt=0, le=100, description="scales every prescribed intensity down (100 = as set)"
    )
    brush_speed_cm_s: float | None = Field(
        None, gt=0, le=100, description="preferred brushing speed; None = the protocol's"
    )
    reminder_times: list[Annotated[str, Field(pattern=HHMM)]] = Field(
        default_factory=list, max_length=24, description="local times, 'HH:MM'"
    )
    detection_thresholds: dict[
        Annotated[str, Field(pattern=SLUG)], Annotated[float, Field(gt=0, le=1)]
    ] = Field(
        default_factory=dict,
        description="per actuator: lowest level the patient feels, fraction of full scale",
    )
    rankings: dict[
        Annotated[str, Field(pattern=SLUG)], list[Annotated[str, Field(pattern=SLUG)]]
    ] = Field(
        default_factory=dict,
        description="per patient-ranked ladder: item ids from least to most irritating",
    )
    sites: dict[Annotated[str, Field(pattern=SLUG)], Annotated[str, Field(pattern=SLUG)]] = (
        Field(
            default_factory=dict,
            description="per actuator: the body site it is placed on for this patient, "
            "replacing the wiring's site (set by the clinician; station.protocols.sites)",
        )
    )

    discrimination: dict[str, int] = Field(
        default_factory=dict,
        description="kept by the station (issue 16): 'sessions' of discrimination played "
        "(a new random sequence each), 'closer_steps' the adaptive moves earned, "
        "'last_session' the session last counted",
    )

    @field_validator("reminder_times")
    @classmethod
    def _unique_sorted(cls, times: list[str]) -> list[str]:
        if len(set(times)) != len(times):
            raise ValueError("a reminder time is listed twice")
        return sorted(times)


def check_ranking(protocol: Protocol, ladder: str, ranking: list[str]) -> list[Problem]:
    """A ranking must name every item of a patient-ranked ladder exactly once."""
    path = f"rankings.{ladder}"
    try:
        lad = protocol.ladder(ladder)
    except KeyError as exc:
        return [Problem(path, str(exc.args[0]))]
    if not lad.ranked_by_patient:
        return [Problem(path, f"ladder '{ladder}' has a fixed order; it is not ranked")]
    ids = [lv.id for lv in lad.levels if lv.id is not None]  # a ranked ladder's all have one
    if sorted(ranking) != sorted(ids) or len(set(ranking)) != len(ranking):
        return [
            Problem(
                path,
                f"must list each item once, least irritating first; items: {ids}",
                ranking,
                True,
            )
        ]
    return []


def check_settings(
    protocol: Protocol, settings: PatientSettings, wiring: WiringConfig | None = None
) -> list[Problem]:
    """Settings against the protocol's caps (and the device limits when wiring is given)."""
    problems: list[Problem] = []
    caps = protocol.caps
    speed = settings.brush_speed_cm_s
    if speed is not None and speed > caps.max_brush_speed_cm_s:
        problems.append(
            Problem(
                "brush_speed_cm_s",
                f"above the clinician's cap of {caps.max_brush_speed_cm_s:g} cm/s",
                speed,
                True,
            )
        )
    if speed is not None and wiring is not None:
        for b in wiring.brush:
            if not b.min_speed_cm_s <= speed <= b.max_speed_cm_s:
                problems.append(
                    Problem(
                        "brush_speed_cm_s",
                        f"outside brush '{b.name}' range "
                        f"{b.min_speed_cm_s:g}..{b.max_speed_cm_s:g} cm/s",
                        speed,
                        True,
                    )
                )
    if len(settings.reminder_times) > caps.sessions_per_day:
        problems.append(
            Problem(
                "reminder_times",
                f"{len(settings.reminder_times)} reminders but the protocol allows "
                f"{caps.sessions_per_day} sessions a day",
                settings.reminder_times,
                True,
            )
        )
    cap_fraction = caps.max_intensity_percent / 100
    for name, threshold in settings.detection_thresholds.items():
        if name in _threshold_actuators(protocol) and threshold > cap_fraction:
            problems.append(
                Problem(
                    f"detection_thresholds.{name}",
                    f"above the intensity cap ({caps.max_intensity_percent:g} %): steps set "
                    "relative to the threshold would be clamped below what the patient feels",
                    threshold,
                    True,
                )
            )
    # A ranking is the patient's and outlives a protocol change (it may be recorded before
    # the protocol that plays it is assigned): only the ladders this protocol has are its.
    own = {lad.name for lad in protocol.ladders}
    for ladder, ranking in settings.rankings.items():
        if ladder in own:
            problems += check_ranking(protocol, ladder, ranking)
    return problems


def _threshold_actuators(protocol: Protocol) -> set[str]:
    names: set[str] = set()
    for ladder in protocol.ladders:
        for level in ladder.levels:
            for step in level.steps:
                if isinstance(step, VibrateStep) and step.intensity.times_threshold:
                    names.update(step.actuators)
    return names
