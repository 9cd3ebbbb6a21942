"""Sessions per day and the minimum gap (pure functions and as enforced at start),
progression decisions with their reasons, and adherence against the prescription."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from station.errors import Conflict, InvalidInput, NotAllowed
from station.storage import Store
from station.storage.limits import PastSession, check_limits

from .helpers import ZONE, arm, run_session


def _at(h: int, m: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=ZONE)


def test_allowed_when_no_history() -> None:
    c = check_limits(_at(9), [], sessions_per_day=3, min_gap=timedelta(hours=2), tz=ZONE)
    assert c.allowed and c.next_allowed_at is None and c.done_today == 0


def test_min_gap_gives_the_time_from_the_last_end() -> None:
    prev = [PastSession(_at(9), _at(9, 20))]
    c = check_limits(_at(10), prev, sessions_per_day=3, min_gap=timedelta(hours=2), tz=ZONE)
    assert not c.allowed and c.rule == "min_gap"
    assert c.next_allowed_at == _at(11, 20)
    assert "at least 120 minutes" in c.message and "from 11:20 today" in c.message
    later = check_limits(_at(11, 20), prev, sessions_per_day=3, min_gap=timedelta(hours=2), tz=ZONE)
    assert later.allowed


def test_per_day_limit_points_to_local_midnight_tomorrow() -> None:
    prev = [PastSession(_at(h), _at(h, 10)) for h in (8, 12, 16)]
    c = check_limits(_at(20), prev, sessions_per_day=3, min_gap=None, tz=ZONE)
    assert c.rule == "sessions_per_day" and c.done_today == 3
    assert c.next_allowed_at == datetime(2026, 3, 11, 0, 0, tzinfo=ZONE)
    assert "at most 3 sessions a day and 3 have been done today" in c.message
    assert "00:00 tomorrow (Wed 11 Mar)" in c.message


def test_gap_crossing_midnight_wins_over_the_new_day() -> None:
    prev = [PastSession(_at(8), _at(8, 10)), PastSession(_at(23), _at(23, 30))]
    c = check_limits(_at(23, 40), prev, sessions_per_day=2, min_gap=timedelta(hours=2), tz=ZONE)
    assert c.next_allowed_at == datetime(2026, 3, 11, 1, 30, tzinfo=ZONE)


def test_local_day_not_utc_day() -> None:
    # 29 Mar 2026: the UK moves to BST; 00:30 local on the 30th is 23:30 UTC on the 29th.
    prev = [PastSession(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), None)]
    now = datetime(2026, 3, 30, 10, 0, tzinfo=ZONE)
    c = check_limits(now, prev, sessions_per_day=1, min_gap=None, tz=ZONE)
    assert not c.allowed and c.done_today == 1
    assert c.next_allowed_at == datetime(2026, 3, 31, 0, 0, tzinfo=ZONE)


def test_store_enforces_limits_at_start_and_message_says_when(store: Store, clock) -> None:
    run_session(store, clock, sessions_per_day=2, min_gap_minutes=60)
    clock.advance(minutes=30)
    sid = arm(store, sessions_per_day=2, min_gap_minutes=60)
    with pytest.raises(NotAllowed) as err:
        store.sessions.set_state(sid, "running")
    assert err.value.rule == "min_gap" and "next session is allowed from" in str(err.value)
    assert err.value.next_allowed_at == clock() + timedelta(minutes=30)
    assert store.sessions.get(sid).state == "armed"  # refused: nothing changed
    check = store.sessions.check_limits(sessions_per_day=2, min_gap_minutes=60)
    assert check.next_allowed_at == err.value.next_allowed_at
    # the engine already started it (panel button): the record keeps the real session
    store.sessions.set_state(sid, "running", enforce_limits=False)
    store.sessions.set_state(sid, "completed")
    clock.advance(hours=2)
    third = arm(store, sessions_per_day=2, min_gap_minutes=60)
    with pytest.raises(NotAllowed, match="at most 2 sessions a day"):
        store.sessions.set_state(third, "running")


def test_decision_moves_the_plan_level_atomically(store: Store, clock) -> None:
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    sid = run_session(store, clock)
    store.ratings.add(sid, 2, step_index=3)
    d = store.progress.record_decision(sid, "advance", 0, 1, "three sessions rated 3 or less")
    assert (d.ladder, d.from_level, d.to_level) == ("main", 0, 1)
    assert store.plans.get().levels == {"main": 1}
    last = store.progress.level_history()[-1]
    assert (last.to_level, last.session_id) == (1, sid) and "three sessions" in last.reason
    with pytest.raises(Conflict, match="already has"):
        store.progress.record_decision(sid, "hold", 1, 1, "again")
    running = arm(store)
    store.sessions.set_state(running, "running")
    with pytest.raises(Conflict, match="once it has ended"):
        store.progress.record_decision(running, "hold", 1, 1, "too early")
    with pytest.raises(InvalidInput):
        store.progress.record_decision(sid, "Advance!", 0, 1, "bad action")
    hist = store.progress.history()
    assert hist[0]["session_id"] == sid and hist[0]["ratings"] == [2]
    assert hist[0]["decision"].action == "advance" and hist[0]["completed"]


def test_adherence_done_vs_prescribed_and_reminders(store: Store, clock) -> None:
    run_session(store, clock)
    clock.advance(hours=4)
    run_session(store, clock, final="stopped")
    store.reminders.record("due")
    clock.advance(days=1)
    store.reminders.record("missed")
    days = store.progress.adherence(date(2026, 3, 10), date(2026, 3, 12), sessions_per_day=3)
    assert [(d.started, d.completed, d.reminders) for d in days] == [
        (2, 1, 1),
        (0, 0, 1),
        (0, 0, 0),
    ]
    assert all(d.prescribed == 3 for d in days)
    with pytest.raises(InvalidInput):
        store.progress.adherence(date(2026, 3, 12), date(2026, 3, 10), sessions_per_day=3)
