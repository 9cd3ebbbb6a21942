"""``store.rankings``: the ranking in force (the plan's settings, what the planner plays)
and its history are written together, and a ranking is never lost when re-ranked.

Expected values come from the clinical procedure (Barber's desensitisation: the patient
ranks the items at intake, re-ranks at later visits; the ranking in force is the latest),
not from the repository's code.
"""

from __future__ import annotations

import sqlite3

import pytest

from station.errors import InvalidInput
from station.storage import Store
from station.storage.rankings import AlreadyRanked

from .helpers import Clock

INTAKE = ["silk", "feather", "velvet"]
VISIT = ["feather", "silk", "velvet"]


def _plan(store: Store) -> None:
    store.plans.set("textures", "1.0", levels={"textures": 0}, settings={"intensity_percent": 80})


def test_first_ranking_is_intake_and_in_force_with_its_history(store: Store) -> None:
    _plan(store)
    rec = store.rankings.record("textures", INTAKE, by="patient:pat")
    assert (rec.ladder, rec.order, rec.context, rec.by) == ("textures", INTAKE, "intake",
                                                           "patient:pat")  # fmt: skip
    plan = store.plans.get()
    # in force where the planner reads it, other settings untouched
    assert plan.settings == {"intensity_percent": 80, "rankings": {"textures": INTAKE}}
    assert plan.ranking == {"textures": INTAKE}
    assert store.rankings.in_force() == {"textures": INTAKE}
    assert store.rankings.history(ladder="textures") == [rec]


def test_re_ranking_at_a_visit_keeps_the_history_newest_first(store: Store, clock: Clock) -> None:
    _plan(store)
    first = store.rankings.record("textures", INTAKE, by="patient:pat")
    clock.advance(days=21)
    second = store.rankings.record("textures", VISIT, by="clinician:carla")
    assert second.context == "visit" and second.at > first.at
    assert store.rankings.in_force() == {"textures": VISIT}
    assert [r.order for r in store.rankings.history(ladder="textures")] == [VISIT, INTAKE]
    # another ladder's first ranking is its own intake
    other = store.rankings.record("immersion", ["rice", "lentils"], by="clinician:carla")
    assert other.context == "intake"
    assert store.rankings.in_force() == {"textures": VISIT, "immersion": ["rice", "lentils"]}
    assert [r.ladder for r in store.rankings.history()] == ["immersion", "textures", "textures"]
    assert store.rankings.history(ladder="textures", limit=1) == [second]


def test_intake_only_refuses_a_second_ranking_and_writes_nothing(store: Store) -> None:
    _plan(store)
    store.rankings.record("textures", INTAKE, by="patient:pat", intake_only=True)
    before = store.plans.get()
    with pytest.raises(AlreadyRanked) as err:
        store.rankings.record("textures", VISIT, by="patient:pat", intake_only=True)
    assert "textures" in str(err.value) and "clinician" in str(err.value)
    assert store.plans.get() == before
    assert len(store.rankings.history()) == 1


def test_a_ranking_written_before_history_existed_counts_as_in_force(store: Store) -> None:
    """A plan from before migration 3 may hold a ranking with no history row: recording
    again is a re-ranking, not an intake."""
    store.plans.set("textures", "1.0", levels={"textures": 0},
                    settings={"rankings": {"textures": INTAKE}})  # fmt: skip
    with pytest.raises(AlreadyRanked):
        store.rankings.record("textures", VISIT, intake_only=True)
    assert store.rankings.record("textures", VISIT).context == "visit"


@pytest.mark.parametrize(
    ("ladder", "order", "field"),
    [
        ("textures", [], "order"),
        ("textures", "silk", "order"),
        ("textures", ["silk", "silk"], "order"),
        ("textures", ["silk", 3], "order[1]"),
        ("", INTAKE, "ladder"),
    ],
)
def test_malformed_rankings_are_refused_naming_the_field(
    store: Store, ladder, order, field
) -> None:
    _plan(store)
    before = store.plans.get()
    with pytest.raises(InvalidInput) as err:
        store.rankings.record(ladder, order)
    assert err.value.field == field
    assert store.plans.get() == before and store.rankings.history() == []


def test_no_plan_is_refused_with_what_to_do(store: Store) -> None:
    with pytest.raises(InvalidInput) as err:
        store.rankings.record("textures", INTAKE)
    assert err.value.field == "plan" and "assign a protocol first" in str(err.value)
    assert store.rankings.history() == []


def test_plan_and_history_commit_together(store: Store, monkeypatch) -> None:
    """A failure after the plan's update (here: the history insert) leaves neither."""
    _plan(store)
    before = store.plans.get()
    conn = store.db._conn
    conn.execute("CREATE TRIGGER no_history BEFORE INSERT ON rankings "
                 "BEGIN SELECT RAISE(ABORT, 'disk full'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        store.rankings.record("textures", INTAKE)
    conn.execute("DROP TRIGGER no_history")
    assert store.plans.get() == before and store.rankings.history() == []


def test_cli_records_and_shows_through_the_same_checks(tmp_path, capsys) -> None:
    """``station plan rank`` refuses what the API refuses and records what it records."""
    from station.cli import main

    data = tmp_path / "cli"
    with Store.open(data) as store:
        store.plans.set("vibration-ladder", "1.0", levels={"vibration": 0})
    # the built-in textures.toml's items, silk first (not the file's first)
    items = [*INTAKE, "cotton-ball", "terry", "corduroy", "towel", "wool", "velcro"]
    assert main(["plan", "rank", "textures", "silk", "wool", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "order" in err and "add [" in err and "velcro" in err
    assert main(["plan", "rank", "textures", *items, "--data-dir", str(data)]) == 0
    assert "ranking recorded (intake)" in capsys.readouterr().out
    assert main(["plan", "ranking", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "1. silk  Silk" in out and "intake by cli:" in out
    with Store.open(data) as store:
        assert store.rankings.in_force() == {"textures": items}
        assert [r.context for r in store.rankings.history()] == ["intake"]


def test_a_ranking_checked_against_an_older_plan_is_refused(store: Store) -> None:
    """The ranking was checked against the plan at one revision; if the plan changed in
    between (another clinician's edit), nothing is written."""
    from station.errors import StalePlan

    _plan(store)
    seen = store.plans.get().revision
    store.rankings.record("textures", INTAKE, expected_revision=seen)
    assert store.plans.get().revision > seen  # a ranking is a change of the plan
    before = store.plans.get()
    with pytest.raises(StalePlan):
        store.rankings.record("textures", VISIT, expected_revision=seen)
    assert store.plans.get() == before and len(store.rankings.history()) == 1
