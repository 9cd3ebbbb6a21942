"""Progression: from a patient's sessions on one ladder, advance, hold or step back.

Pure and deterministic: the same history and rule always give the same ``Decision``, with
a reason a clinician can read. Only the trailing run of sessions at the current level
counts (earlier visits to the level were interrupted by a move, so they start over).

- A session *qualifies* when it was completed, not stopped by a rating, and its counted
  discomfort rating (max, mean or last, per the rule) is at most ``advance_max_rating``.
- A session is *bad* when it was stopped by a live rating or its counted rating is at
  least ``back_min_rating``.
- ``back_after_sessions`` consecutive bad sessions step back one level (not below 0);
  ``advance_after_sessions`` consecutive qualifying sessions spanning at least
  ``advance_min_days`` calendar days move up one level (not past the last).
- Stepping back is checked first: when in doubt, go easier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from station.protocols.model import Progression

Action = Literal["advance", "hold", "back"]


@dataclass(frozen=True)
class SessionResult:
    """One completed or stopped session, as progression needs it."""

    at: datetime
    level_index: int
    completed: bool
    ratings: Sequence[int] = field(default_factory=tuple)  # discomfort 0-10, in order
    stopped_by_rating: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    from_level: int
    to_level: int
    reason: str


def counted_rating(ratings: Sequence[int], how: str) -> float | None:
    if not ratings:
        return None
    if how == "max":
        return float(max(ratings))
    if how == "last":
        return float(ratings[-1])
    return sum(ratings) / len(ratings)


def qualifies(s: SessionResult, rule: Progression) -> bool:
    r = counted_rating(s.ratings, rule.rating)
    return (
        s.completed and not s.stopped_by_rating and r is not None and r <= rule.advance_max_rating
    )


def is_bad(s: SessionResult, rule: Progression) -> bool:
    r = counted_rating(s.ratings, rule.rating)
    return s.stopped_by_rating or (r is not None and r >= rule.back_min_rating)


def _trailing(items: Sequence[SessionResult], pred) -> list[SessionResult]:
    run: list[SessionResult] = []
    for s in reversed(items):
        if not pred(s):
            break
        run.append(s)
    run.reverse()
    return run


def decide(
    rule: Progression,
    history: Sequence[SessionResult],
    *,
    current_level: int,
    level_count: int,
) -> Decision:
    """The decision after the latest session; ``history`` in any order (sorted by time)."""
    if level_count < 1 or not 0 <= current_level < level_count:
        raise ValueError(f"current_level {current_level} outside 0..{level_count - 1}")
    # A total order, so that sessions with the same time give the same decision however
    # the caller happened to list them.
    ordered = sorted(
        history,
        key=lambda s: (s.at, s.level_index, s.completed, tuple(s.ratings), s.stopped_by_rating),
    )
    here = _trailing(ordered, lambda s: s.level_index == current_level)
    last = current_level == level_count - 1

    def hold(reason: str) -> Decision:
        return Decision("hold", current_level, current_level, reason)

    if not here:
        return hold("no sessions at this level yet")
    bad = _trailing(here, lambda s: is_bad(s, rule))
    if len(bad) >= rule.back_after_sessions:
        why = (
            f"{len(bad)} session(s) in a row stopped by a rating or rated "
            f"{rule.back_min_rating} or more (rule: {rule.back_after_sessions})"
        )
        if current_level == 0:
            return hold(f"{why}; already at the first level")
        return Decision("back", current_level, current_level - 1, why)
    good = _trailing(here, lambda s: qualifies(s, rule))
    days = len({s.at.date() for s in good})
    need = rule.advance_after_sessions
    if len(good) >= need and days >= rule.advance_min_days:
        why = (
            f"{len(good)} completed session(s) in a row with {rule.rating} discomfort "
            f"<= {rule.advance_max_rating} over {days} day(s) (rule: {need} over "
            f"{rule.advance_min_days})"
        )
        if last:
            return hold(f"{why}; already at the last level")
        return Decision("advance", current_level, current_level + 1, why)
    latest = here[-1]
    r = counted_rating(latest.ratings, rule.rating)
    if not qualifies(latest, rule):
        if latest.stopped_by_rating:
            detail = "the last session was stopped by a rating"
        elif not latest.completed:
            detail = "the last session was not completed"
        elif r is None:
            detail = "the last session has no discomfort rating"
        else:
            detail = (
                f"the last session's {rule.rating} discomfort {r:g} is above "
                f"{rule.advance_max_rating}"
            )
        return hold(f"{detail}; qualifying run starts again")
    return hold(
        f"{len(good)} of {need} qualifying session(s) in a row, over {days} of "
        f"{rule.advance_min_days} day(s)"
    )
