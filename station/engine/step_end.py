"""Ending a guided step early: the answer that ends a ``rate`` step, or the patient's
"enough" ("it feels numb") on a ``manual`` step.

Only steps that drive nothing may end early (``ENDABLE``): how long a stimulus plays is
the clinician's dose, and jumping program time inside a vibration or brush segment would
be a jump on the skin. Rest steps are prescribed pauses (satiety) and are not skipped.

Ending a step moves program time to the step's end; the loop then finishes it and starts
the next step exactly as at its natural end (the same ``step_finished``/``step_started``
events, the same completion after the last step, the same hold at a rate step on a fast
simulated clock), so the player and the record need nothing new.

* running: the running stretch's time origin (``Engine.t0_ns``) moves back by the time
  skipped (in real ns: program ms over the simulator's ``time_scale``), so the next tick
  lands just past the step's end;
* paused: program time is set to the step's end and the engine stays paused. Nothing
  starts stimulating again without a person's resume (or the panel's start); the resume
  plays on from the next step.

Runs on the loop thread (a queued command, ``LoopCommands.table``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from station.errors import EngineError
from station.vocab import PLAYING_STATES

if TYPE_CHECKING:
    from station.engine.core import Engine

ENDABLE = ("manual", "rate")
EndReason = Literal["answered", "enough"]  # a rate step answered; "it feels numb / enough"
END_REASONS: tuple[EndReason, ...] = get_args(EndReason)


def end_step(engine: Engine, *, index: int, reason: EndReason, by: str | None) -> dict[str, Any]:
    """End step ``index`` now (it must be the one playing, and endable); the result says
    which step ended, how much of it was skipped and the engine's state."""
    eng = engine
    player, program, now_ms = eng.player, eng.program, eng.program_ms
    if (
        eng.state not in PLAYING_STATES
        or player is None
        or program is None
        or now_ms is None
        or player.finished
    ):
        raise EngineError("not_running", f"no step is playing to end (state {eng.state})")
    current = player.step_index
    if index != current:
        raise EngineError(
            "wrong_step",
            f"step {index} is not playing (step {current} is); nothing was ended. Ask again "
            f"with index = {current}",
        )
    step = program.steps[current]
    if step.kind not in ENDABLE:
        raise EngineError(
            "not_endable",
            f"step {index} is a {step.kind} step; only {' and '.join(ENDABLE)} steps end "
            "early (a stimulus plays as prescribed: stop the session to end it)",
        )
    skipped = max(0.0, step.end_ms - now_ms)
    if skipped > 0:
        if eng.state == "running":
            eng.t0_ns -= int(skipped * 1e6 / eng.time_scale)
        eng.program_ms = float(step.end_ms)
    return {
        "ended": index,
        "kind": step.kind,
        "reason": reason,
        "by": by,
        "skipped_ms": round(skipped, 1),
        "state": eng.state,
    }
