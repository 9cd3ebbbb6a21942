"""Revising a progression decision when a rating comes in after the session ended."""

from __future__ import annotations

import pytest

from station.errors import Conflict
from station.storage import Store
from tests.storage.helpers import run_session


def test_revision_replaces_the_decision_and_moves_the_level(store: Store, clock) -> None:
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    sid = run_session(store, clock)
    store.progress.record_decision(sid, "hold", 0, 0, "no rating yet")
    d = store.progress.revise_decision(sid, "advance", 0, 1, "three qualifying sessions")
    assert (d.action, d.to_level) == ("advance", 1)
    assert d.reason == "three qualifying sessions (was hold: no rating yet)"
    assert store.plans.get().levels == {"main": 1}
    assert store.progress.level_history()[-1].session_id == sid
    # Back to hold (a later answer raised the counted rating): the level follows.
    store.progress.revise_decision(sid, "hold", 0, 0, "rated 5")
    assert store.plans.get().levels == {"main": 0}


def test_revision_never_undoes_a_clinicians_change(store: Store, clock) -> None:
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    sid = run_session(store, clock)
    store.progress.record_decision(sid, "advance", 0, 1, "qualified")
    store.plans.set("forearm-basic", "1.0", levels={"main": 3})  # the clinician's choice
    store.progress.revise_decision(sid, "hold", 0, 0, "rated 6 after all")
    assert store.plans.get().levels == {"main": 3}


def test_no_revision_once_a_later_session_was_decided(store: Store, clock) -> None:
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    first = run_session(store, clock)
    store.progress.record_decision(first, "hold", 0, 0, "1 of 3")
    clock.advance(hours=3)
    later = run_session(store, clock)
    store.progress.record_decision(later, "hold", 0, 0, "2 of 3")
    with pytest.raises(Conflict, match="decided after"):
        store.progress.revise_decision(first, "advance", 0, 1, "too late")
    assert store.plans.get().levels == {"main": 0}
    # No decision yet: a revision simply records one.
    clock.advance(hours=3)
    third = run_session(store, clock)
    assert store.progress.revise_decision(third, "hold", 0, 0, "first look").reason == "first look"
