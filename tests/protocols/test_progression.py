"""Progression decisions: unit cases and properties over random histories."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.protocols.model import Progression
from station.protocols.progression import (
    SessionResult,
    counted_rating,
    decide,
    is_bad,
    qualifies,
)

RULE = Progression(
    rating="max",
    advance_max_rating=3,
    advance_after_sessions=3,
    advance_min_days=2,
    back_min_rating=7,
    back_after_sessions=2,
    stop_threshold=8,
)
T0 = datetime(2025, 1, 6, 9, 0)


def s(hours: float, level: int, ratings=(2,), completed=True, stopped=False) -> SessionResult:
    return SessionResult(T0 + timedelta(hours=hours), level, completed, tuple(ratings), stopped)


def test_no_history_holds():
    d = decide(RULE, [], current_level=0, level_count=3)
    assert (d.action, d.to_level) == ("hold", 0) and "no sessions" in d.reason


def test_advances_after_enough_sessions_over_enough_days():
    hist = [s(0, 1), s(5, 1), s(24, 1)]
    d = decide(RULE, hist, current_level=1, level_count=3)
    assert (d.action, d.from_level, d.to_level) == ("advance", 1, 2)
    same_day = [s(0, 1), s(2, 1), s(4, 1)]
    d = decide(RULE, same_day, current_level=1, level_count=3)
    assert d.action == "hold" and "1 of 2 day" in d.reason


def test_never_past_last_level():
    hist = [s(0, 2), s(5, 2), s(24, 2)]
    d = decide(RULE, hist, current_level=2, level_count=3)
    assert d.action == "hold" and "last level" in d.reason


def test_high_rating_resets_the_run():
    hist = [s(0, 1), s(5, 1), s(24, 1, ratings=(1, 5)), s(30, 1)]
    d = decide(RULE, hist, current_level=1, level_count=3)
    assert d.action == "hold" and "1 of 3" in d.reason


def test_steps_back_after_bad_sessions_and_not_below_zero():
    hist = [s(0, 1, ratings=(8,)), s(5, 1, stopped=True, completed=False, ratings=(9,))]
    d = decide(RULE, hist, current_level=1, level_count=3)
    assert (d.action, d.to_level) == ("back", 0) and "in a row" in d.reason
    hist0 = [s(0, 0, ratings=(8,)), s(5, 0, ratings=(7,))]
    d = decide(RULE, hist0, current_level=0, level_count=3)
    assert d.action == "hold" and "first level" in d.reason


def test_only_trailing_run_at_current_level_counts():
    hist = [s(0, 1), s(24, 1), s(30, 2, ratings=(9,)), s(48, 1)]
    d = decide(RULE, hist, current_level=1, level_count=3)
    assert d.action == "hold"


def test_counted_rating_modes():
    assert counted_rating([1, 5, 3], "max") == 5
    assert counted_rating([1, 5, 3], "last") == 3
    assert counted_rating([1, 5, 3], "mean") == 3
    assert counted_rating([], "max") is None


def test_bad_current_level_raises():
    with pytest.raises(ValueError):
        decide(RULE, [], current_level=3, level_count=3)


rules = st.builds(
    lambda adv, back, stop, n, m, days, how: Progression(
        rating=how,
        advance_max_rating=adv,
        back_min_rating=adv + back,
        stop_threshold=min(10, adv + back + stop),
        advance_after_sessions=n,
        back_after_sessions=m,
        advance_min_days=days,
    ),
    adv=st.integers(0, 5),
    back=st.integers(1, 5),
    stop=st.integers(0, 3),
    n=st.integers(1, 5),
    m=st.integers(1, 3),
    days=st.integers(1, 3),
    how=st.sampled_from(["max", "mean", "last"]),
)


@st.composite
def histories(draw):
    count = draw(st.integers(1, 8))
    level_count = draw(st.integers(1, 5))
    current = draw(st.integers(0, level_count - 1))
    hours = sorted(draw(st.lists(st.floats(0, 24 * 14), min_size=count, max_size=count)))
    out = []
    for h in hours:
        out.append(
            SessionResult(
                T0 + timedelta(hours=h),
                draw(st.sampled_from([current, current, max(0, current - 1)])),
                draw(st.booleans()),
                tuple(draw(st.lists(st.integers(0, 10), max_size=4))),
                draw(st.booleans()),
            )
        )
    return out, current, level_count


@settings(max_examples=300, deadline=None)
@given(rule=rules, case=histories())
def test_properties(rule, case):
    history, current, level_count = case
    d = decide(rule, history, current_level=current, level_count=level_count)
    assert d.from_level == current and 0 <= d.to_level < level_count
    assert d.reason
    assert {"advance": 1, "hold": 0, "back": -1}[d.action] == d.to_level - d.from_level
    latest = max(
        history, key=lambda x: (x.at, x.level_index, x.completed, x.ratings, x.stopped_by_rating)
    )
    if d.action == "advance":
        assert latest.level_index == current
        assert qualifies(latest, rule)  # never on a session rated above the rule or stopped
        r = counted_rating(latest.ratings, rule.rating)
        assert r is not None and r <= rule.advance_max_rating
        assert not latest.stopped_by_rating
    if d.action == "back":
        assert is_bad(latest, rule)
    # deterministic, and independent of the order the history is given in
    assert (
        decide(rule, list(reversed(history)), current_level=current, level_count=level_count) == d
    )
