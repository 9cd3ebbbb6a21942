"""Ratings and the journal: every refusal names the field and changes nothing; the grace
window after a completed session accepts only the last rating step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import Store
from station.storage.journal import MAX_JOURNAL
from station.storage.ratings import RATING_GRACE

from .helpers import arm, run_session


def _running(store: Store) -> int:
    sid = arm(store)
    store.sessions.set_state(sid, "running")
    return sid


def test_rating_with_all_fields_round_trips(store: Store) -> None:
    sid = _running(store)
    rid = store.ratings.add(
        sid, 3, step_index=1, pleasantness=-4, lingering=True, lingering_where="  wrist  "
    )
    r = store.ratings.get(rid)
    assert (r.value, r.step_index, r.live, r.pleasantness, r.lingering, r.lingering_where) == (
        3,
        1,
        False,
        -4,
        True,
        "wrist",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": 11}, "value"),
        ({"value": -1}, "value"),
        ({"value": 2.5}, "value"),
        ({"value": True}, "value"),
        ({"value": "5"}, "value"),
        ({"value": 3, "pleasantness": 11}, "pleasantness"),
        ({"value": 3, "step_index": 4}, "step_index"),
        ({"value": 3, "lingering": False, "lingering_where": "arm"}, "lingering_where"),
        ({"value": 3, "lingering": True, "lingering_where": "x" * 201}, "lingering_where"),
        ({"value": 3, "live": 1}, "live"),
    ],
)
def test_bad_ratings_are_refused_with_the_field(store: Store, kwargs, field) -> None:
    sid = _running(store)
    value = kwargs.pop("value")
    with pytest.raises(InvalidInput) as err:
        store.ratings.add(sid, value, **kwargs)
    assert err.value.field == field
    assert field in str(err.value)
    assert store.sessions.get(sid).ratings == ()


def test_unknown_session_and_not_started(store: Store) -> None:
    with pytest.raises(NotFound):
        store.ratings.add(12345, 3)
    sid = arm(store)
    with pytest.raises(Conflict, match="not started"):
        store.ratings.add(sid, 3)


def test_live_rating_only_while_running_or_paused(store: Store, clock) -> None:
    sid = _running(store)
    store.ratings.add(sid, 2, live=True)
    store.sessions.set_state(sid, "paused")
    store.ratings.add(sid, 4, live=True)
    store.sessions.set_state(sid, "running")
    store.sessions.set_state(sid, "completed")
    with pytest.raises(Conflict, match="live rating"):
        store.ratings.add(sid, 5, live=True)
    assert [r.value for r in store.sessions.get(sid).ratings] == [2, 4]


def test_grace_window_after_completion_for_the_last_rate_step(store: Store, clock) -> None:
    sid = run_session(store, clock)  # steps: vibrate, rate, brush, rate -> last rate = 3
    clock.advance(seconds=30)
    store.ratings.add(sid, 6, step_index=3, pleasantness=2)
    store.ratings.add(sid, 5)  # a session-level rating, also allowed in the window
    with pytest.raises(Conflict, match="step 3"):
        store.ratings.add(sid, 5, step_index=1)
    clock.advance(seconds=RATING_GRACE.total_seconds())
    with pytest.raises(Conflict, match="can no longer be rated"):
        store.ratings.add(sid, 6, step_index=3)
    assert [r.value for r in store.sessions.get(sid).ratings] == [6, 5]


def test_no_grace_after_stop_or_abort(store: Store, clock) -> None:
    sid = run_session(store, clock, final="stopped")
    with pytest.raises(Conflict, match=r"already ended \(stopped\)"):
        store.ratings.add(sid, 4, step_index=3)
    sid = _running(store)
    store.sessions.abort_unfinished("test")
    with pytest.raises(Conflict, match="aborted"):
        store.ratings.add(sid, 4)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(
        st.integers(-1000, 1000),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    ),
    pleasantness=st.one_of(st.none(), st.integers(-30, 30)),
)
def test_rating_validation_property(store: Store, value, pleasantness) -> None:
    sid = store.sessions.current().id if store.sessions.current() else _running(store)
    before = len(store.sessions.get(sid).ratings)
    valid = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 <= value <= 10
        and (pleasantness is None or -10 <= pleasantness <= 10)
    )
    if valid:
        rid = store.ratings.add(sid, value, pleasantness=pleasantness)
        assert store.ratings.get(rid).value == value
        assert len(store.sessions.get(sid).ratings) == before + 1
    else:
        with pytest.raises(InvalidInput) as err:
            store.ratings.add(sid, value, pleasantness=pleasantness)
        assert err.value.field in ("value", "pleasantness")
        assert len(store.sessions.get(sid).ratings) == before


def test_journal_attachment_rules(store: Store, clock) -> None:
    alone = store.journal.add("slept badly", trigger="cold weather")
    assert alone.session_id is None and alone.trigger == "cold weather"
    sid = _running(store)
    assert store.journal.add("tingly").session_id == sid
    store.sessions.set_state(sid, "completed")
    arm(store)  # the next program is armed at once; the entry is still about the last one
    clock.advance(minutes=20)
    assert store.journal.add("ok afterwards").session_id == sid
    clock.advance(hours=12)
    assert store.journal.add("next day").session_id is None
    other = store.journal.add("about that one", session_id=sid)
    assert other.session_id == sid
    assert [j.text for j in store.journal.entries(standalone=True)] == ["next day", "slept badly"]
    assert len(store.sessions.get(sid).journal) == 3


def test_journal_refusals_change_nothing(store: Store) -> None:
    with pytest.raises(InvalidInput, match="at most 4000"):
        store.journal.add("x" * (MAX_JOURNAL + 1))
    with pytest.raises(InvalidInput):
        store.journal.add("   ")
    with pytest.raises(InvalidInput) as err:
        store.journal.add("fine", trigger="t" * 201)
    assert err.value.field == "trigger"
    with pytest.raises(NotFound):
        store.journal.add("fine", session_id=77)
    assert store.journal.entries() == []
    assert store.journal.add("x" * MAX_JOURNAL).text == "x" * MAX_JOURNAL
