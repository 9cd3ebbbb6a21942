"""The station's vocabulary: engine states, stop reasons, event names, LED patterns.

One place for the words that cross process boundaries (the engine's IPC answers and
event stream, the app's record, the page). Each is a ``Literal`` type (what mypy checks)
and a tuple of its values (what code validates against and what error messages list).

Stop reasons have one spelling each. A stop asked for by a person through the software
(the page's Stop, the API, ``station stop``) is ``"user"``; the engine used to call it
``"api"``, which is still accepted on the engine's socket and mapped, here and only here,
by ``stop_reason``.
"""

from __future__ import annotations

from typing import Literal, get_args

# --- engine states ---------------------------------------------------------------------
EngineState = Literal["idle", "armed", "running", "paused", "stopped", "fault", "estop"]
ENGINE_STATES: tuple[EngineState, ...] = get_args(EngineState)
PLAYING_STATES: tuple[EngineState, ...] = ("running", "paused")

# --- stop reasons ----------------------------------------------------------------------
StopReason = Literal[
    "user",  # a person, through the page, the API or `station stop`
    "too_much",  # the patient's "too much" button on the page
    "panel_stop",  # the panel's stop button, or start held down
    "estop",  # the e-stop contact opened (latches)
    "rating",  # a live rating at or above the program's stop threshold
    "fault",  # a hardware fault
    "watchdog",  # the loop stalled past the watchdog's bound
    "completed",  # the program played to its end
]
STOP_REASONS: tuple[StopReason, ...] = get_args(StopReason)
# What a caller of the engine's ``stop`` method (the app, the CLI) may give.
RequestedStop = Literal["user", "too_much"]
REQUESTED_STOPS: tuple[RequestedStop, ...] = get_args(RequestedStop)
# Old spellings still accepted on input; mapped once, by ``stop_reason``.
STOP_REASON_ALIASES: dict[str, StopReason] = {"api": "user"}
# Stops that end a session the way the program meant (recorded as "completed").
COMPLETED: StopReason = "completed"
# Stops that settle the engine even when nothing was armed (they are always reported).
ALWAYS_REPORTED: tuple[StopReason, ...] = ("estop", "fault", "watchdog")


def stop_reason(value: str) -> StopReason:
    """The one spelling of a stop reason (``"api"`` -> ``"user"``); ValueError naming the
    value and the allowed reasons when it is none."""
    value = STOP_REASON_ALIASES.get(value, value)
    for reason in STOP_REASONS:
        if reason == value:
            return reason
    raise ValueError(f"stop reason {value!r} is unknown; allowed: {', '.join(STOP_REASONS)}")


# --- engine events ---------------------------------------------------------------------
EventName = Literal[
    "armed",
    "started",
    "state",
    "step_started",
    "step_finished",
    "stopped",
    "fault",
    "timing",
    "estop_reset",
    "calibrating",
    "calibrated",
    "indicator",
    "rating",
    "watchdog",
]
EVENT_NAMES: tuple[EventName, ...] = get_args(EventName)

# --- LED patterns ----------------------------------------------------------------------
# One per engine state, plus "rating" (rate now), and the idle variants the app chooses.
LedPattern = Literal[
    "idle", "due", "armed", "running", "paused", "rating", "step", "stopped", "limit", "fault",
    "estop",
]
LED_PATTERN_NAMES: tuple[LedPattern, ...] = get_args(LedPattern)
# What the app may show while the engine is idle (the engine's ``set_indicator``).
IdlePattern = Literal["idle", "due", "limit"]
IDLE_PATTERNS: tuple[IdlePattern, ...] = get_args(IdlePattern)
# The pattern each engine state shows (idle shows the app's idle pattern instead).
STATE_PATTERNS: dict[EngineState, LedPattern] = {
    "idle": "idle",
    "armed": "armed",
    "running": "running",
    "paused": "paused",
    "stopped": "stopped",
    "fault": "fault",
    "estop": "estop",
}
