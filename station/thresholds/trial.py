"""One threshold trial as a compiled ``Program``: a short ramped stimulus, then the
answer window.

Step 0 vibrates one haptic actuator at the trial's level for ``STIMULUS_MS`` with
``RAMP_MS`` ramps up and down (from silence, no jump), step 1 is a ``rate`` step: the
engine plays silence while the patient answers (the panel shows its "rate now" LEDs, and
any stop during it is the engine's ordinary stop). The program goes through the engine's
own checks, caps and watchdog like every session's; ``ceiling`` is applied here once more
so that no caller can ask for more than min(device limit, clinician cap, patient cap).
"""

from __future__ import annotations

import hashlib
import math

from station.i18n import N_
from station.program import AmplitudeSegment, Program, ProgramStep, RatingRequest

STIMULUS_MS = 1000
RAMP_MS = 200
ANSWER_MS = 60_000
PROTOCOL_ID = "threshold-trial"
PROMPTS = {
    "detection": N_("Did you feel it?"),  # translated where shown (threshold_run)
    "tolerance": N_("Is this still manageable?"),
}


def trial_program(*, actuator: str, level: float, ceiling: float, kind: str, trial: int) -> Program:
    level = math.floor(min(level, ceiling) * 1e6) / 1e6  # never round up past a limit
    if not 0 < level <= 1:
        raise ValueError(f"trial level {level} must be in (0, 1]")
    seg = AmplitudeSegment(
        actuator=actuator,
        start_ms=0,
        duration_ms=STIMULUS_MS,
        level=level,
        ramp_up_ms=RAMP_MS,
        ramp_down_ms=RAMP_MS,
    )
    steps = (
        ProgramStep(index=0, kind="vibrate", label=f"{kind} trial {trial}", start_ms=0,
                    duration_ms=STIMULUS_MS, segments=(seg,)),
        ProgramStep(index=1, kind="rate", label="Your answer", start_ms=STIMULUS_MS,
                    duration_ms=ANSWER_MS, instruction=PROMPTS[kind],
                    rating=RatingRequest(prompt=PROMPTS[kind])),
    )  # fmt: skip
    digest = hashlib.sha256(f"{kind}:{actuator}:{level}".encode()).hexdigest()
    return Program(
        protocol_id=PROTOCOL_ID,
        protocol_version="1",
        protocol_hash=digest,
        level=f"{kind} {actuator} {level:.4f}",
        level_index=0,
        stop_threshold=None,
        steps=steps,
        duration_ms=STIMULUS_MS + ANSWER_MS,
    )
