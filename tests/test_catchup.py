"""The event cursor: each engine event handled once across reconnects and app restarts."""

from __future__ import annotations

from station.app.catchup import EventCursor


def ev(seq: int, event: str = "step_started", sid: int | None = 1) -> dict:
    return {"seq": seq, "event": event, "session_id": sid}


def test_new_app_with_nothing_playing_replays_nothing():
    cursor = EventCursor()
    assert cursor.plan({"engine_id": "e1", "event_seq": 40}, None) == (None, None)
    cursor.caught_up({"event_seq": 40})
    assert not cursor.admit(ev(40)) and cursor.admit(ev(41))


def test_new_app_replays_only_the_playing_session_from_its_last_arming():
    cursor = EventCursor()
    since, only = cursor.plan({"engine_id": "e1"}, 2)
    assert (since, only) == (0, 2)
    history = [ev(1, "armed", 2), ev(2, "stopped", 2), ev(3, "armed", 1), ev(4, "armed", 2),
               ev(5, "step_started", 2), ev(6, "step_started", 1)]  # fmt: skip
    missed = cursor.missed(history, only)
    assert [e["seq"] for e in missed] == [4, 5, 6]  # the old session 2 "stopped" is not ours
    assert [e["seq"] for e in missed if cursor.admit(e, only)] == [4, 5]


def test_reconnect_to_the_same_engine_resumes_after_the_last_handled_event():
    cursor = EventCursor()
    cursor.plan({"engine_id": "e1"}, None)
    assert cursor.admit(ev(7))
    assert cursor.plan({"engine_id": "e1"}, 1) == (7, None)
    assert not cursor.admit(ev(7)) and cursor.admit(ev(8))


def test_a_restarted_engine_starts_the_count_again():
    cursor = EventCursor()
    cursor.plan({"engine_id": "e1"}, None)
    cursor.admit(ev(500))
    assert cursor.plan({"engine_id": "e2"}, None) == (None, None)
    assert cursor.admit(ev(1))
