"""A discrimination step's trials in the compiled program (issue 16).

The engine plays a ``discriminate`` step as ordinary amplitude segments (one per trial,
ramped and capped like any vibration), so its player, watchdog and stops are unchanged.
What only the app needs rides along here: per trial its block, site (the actuator), probe
and timing, and the seed the sequence came from, so the record can be reproduced.

The page must never learn the answer while the step plays: ``public_step`` is the step as
the page may see it (timing of every trial, the choices, never which site each trial
drives, and no segments).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trial(_Frozen):
    block: int = Field(ge=0)
    index: int = Field(ge=0, description="0-based, across the step's blocks")
    site: str = Field(description="the actuator this trial drives")
    probe: str | None = None
    start_ms: int = Field(ge=0, description="stimulus start, from the start of the program")
    stimulus_end_ms: int = Field(gt=0)
    answer_end_ms: int = Field(
        gt=0, description="the answer window closes here (unanswered: missed)"
    )


class Choice(_Frozen):
    site: str = Field(description="actuator name: what the page answers with")
    body_site: str | None = Field(None, description="where it is placed on the body")


class DiscriminationPlan(_Frozen):
    seed: int = Field(ge=0, description="the random sequence's seed (reproduces it)")
    blocks: int = Field(ge=1)
    stimuli_per_block: int = Field(ge=1)
    feedback: bool = True
    choices: tuple[Choice, ...]
    probes: tuple[str, ...] = ()
    probe_levels: dict[str, float] = Field(
        default_factory=dict, description="probe -> level played (fraction of full scale)"
    )
    closer_steps: int = Field(0, ge=0, description="adaptive moves applied to the probes")
    advance_at_percent: float | None = Field(
        None, description="adaptive: a block at or above this percent correct earns a move"
    )
    trials: tuple[Trial, ...]

    def trial_at(self, t_ms: float) -> Trial | None:
        """The trial whose stimulus plays or whose answer window is open at ``t_ms``."""
        for trial in self.trials:
            if trial.start_ms <= t_ms < trial.answer_end_ms:
                return trial
        return None

    def closed_by(self, t_ms: float) -> list[Trial]:
        """Trials whose answer window has closed at ``t_ms``."""
        return [t for t in self.trials if t.answer_end_ms <= t_ms]


def public_plan(plan: DiscriminationPlan) -> dict[str, Any]:
    """What the page may know: the choices and when each trial plays, never its site."""
    return {
        "blocks": plan.blocks,
        "stimuli_per_block": plan.stimuli_per_block,
        "feedback": plan.feedback,
        "choices": [c.model_dump() for c in plan.choices],
        "probes": list(plan.probes),
        "trials": [
            {
                "block": t.block,
                "index": t.index,
                "start_ms": t.start_ms,
                "stimulus_end_ms": t.stimulus_end_ms,
                "answer_end_ms": t.answer_end_ms,
            }
            for t in plan.trials
        ],
    }


def public_step(step: Any) -> dict[str, Any]:
    """A program step as the page sees it (``GET /api/status``'s ``step``): a discriminate
    step without its segments and without the trials' sites and probes."""
    out: dict[str, Any] = step.model_dump(mode="json")
    plan = getattr(step, "discrimination", None)
    if plan is not None:
        out["segments"] = []
        out["discrimination"] = public_plan(plan)
    return out
