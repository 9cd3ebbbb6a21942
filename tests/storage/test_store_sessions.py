"""Users, plan and the session lifecycle: allowed transitions, refusals that change
nothing, steps as the engine reported them, and sessions left over by a crash."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import Store

from .helpers import arm, run_session


def test_users_unique_ignoring_case_and_hash_never_exported(store: Store) -> None:
    ann = store.users.create("Ann", "clinician", "$argon2id$hash")
    store.users.create("pat", "patient", "$argon2id$other")
    with pytest.raises(Conflict, match="already exists"):
        store.users.create("ANN", "patient", "x")
    with pytest.raises(InvalidInput) as err:
        store.users.create("bob", "admin", "x")
    assert err.value.field == "role" and err.value.allowed == ["clinician", "patient"]
    assert store.users.get("ann") == ann
    assert store.users.get_by_id(ann.id) == ann
    assert store.users.get("nobody") is None
    assert store.users.count() == 2 and store.users.count("clinician") == 1
    assert [u.name for u in store.users.all()] == ["Ann", "pat"]
    assert "password_hash" not in ann.as_dict()
    store.users.set_password("ann", "new-hash")
    assert store.users.get("Ann").password_hash == "new-hash"
    with pytest.raises(NotFound):
        store.users.set_password("nobody", "h")


def test_plan_levels_ranking_settings_and_level_history(store: Store) -> None:
    assert store.plans.get() is None
    plan = store.plans.set(
        "forearm-basic",
        "1.0",
        levels={"vibration": 0, "brush": 1},
        ranking={"textures": ["silk", "cotton", "velcro"]},
        settings={"intensity_scale": 0.8},
    )
    assert plan.levels == {"vibration": 0, "brush": 1}
    assert plan.ranking == {"textures": ["silk", "cotton", "velcro"]}
    store.plans.set_level("vibration", 2, "clinician moved up")
    plan = store.plans.set("forearm-basic", "1.1")  # keeps levels, ranking, settings
    assert plan.protocol_version == "1.1" and plan.levels["vibration"] == 2
    assert plan.settings == {"intensity_scale": 0.8}
    history = [(c.ladder, c.from_level, c.to_level) for c in store.progress.level_history()]
    assert history == [("vibration", None, 0), ("brush", None, 1), ("vibration", 0, 2)]
    with pytest.raises(InvalidInput):
        store.plans.set("p", "1", levels={"vibration": -1})
    with pytest.raises(InvalidInput):
        store.plans.set("p", "1", ranking={"textures": ["silk", "silk"]})
    assert store.plans.get().protocol_id == "forearm-basic"  # the refusals changed nothing


def test_full_lifecycle_with_pause_and_who_stopped(store: Store, clock) -> None:
    sid = arm(store, level_name="gentle")
    assert store.sessions.current().state == "armed"
    store.sessions.set_state(sid, "running")
    store.sessions.set_state(sid, "paused", reason="patient asked", by="page")
    store.sessions.set_state(sid, "running")
    clock.advance(minutes=3)
    s = store.sessions.set_state(sid, "stopped", reason="too much", by="panel")
    assert (s.state, s.end_reason, s.ended_by) == ("stopped", "too much", "panel")
    assert s.ended_at - s.started_at == timedelta(minutes=3)
    full = store.sessions.get(sid)
    assert [t.to_state for t in full.transitions] == [
        "armed",
        "running",
        "paused",
        "running",
        "stopped",
    ]
    assert store.sessions.current() is None


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], "completed"),  # armed cannot complete
        ([], "paused"),
        (["running"], "armed"),
        (["running", "paused"], "completed"),
        (["running", "completed"], "running"),  # final states are final
        (["running", "stopped"], "aborted"),
        (["aborted"], "running"),
    ],
)
def test_refused_transitions_change_nothing(store: Store, path, bad) -> None:
    sid = arm(store)
    for state in path:
        store.sessions.set_state(sid, state)
    before = store.sessions.get(sid)
    with pytest.raises(Conflict):
        store.sessions.set_state(sid, bad)
    assert store.sessions.get(sid) == before


def test_unknown_session_and_bad_state(store: Store) -> None:
    with pytest.raises(NotFound, match="no session with id 99"):
        store.sessions.set_state(99, "running")
    with pytest.raises(NotFound):
        store.sessions.get(99)
    sid = arm(store)
    with pytest.raises(InvalidInput) as err:
        store.sessions.set_state(sid, "finished")
    assert err.value.field == "state"


def test_arming_replaces_an_armed_session_but_not_a_running_one(store: Store) -> None:
    first = arm(store)
    second = arm(store)
    old = store.sessions.get(first)
    assert old.state == "stopped" and "replaced by session" in old.end_reason
    assert old.started_at is None
    store.sessions.set_state(second, "running")
    with pytest.raises(Conflict, match=f"session {second} is running"):
        arm(store)


def test_steps_record_what_the_engine_delivered(store: Store, clock) -> None:
    sid = arm(store)
    store.sessions.set_state(sid, "running")
    t0 = clock()
    store.sessions.record_step(sid, 0, "vibrate", "Forearm buzz", t0)
    store.sessions.record_step(
        sid,
        0,
        "vibrate",
        "Forearm buzz",
        t0,
        t0 + timedelta(seconds=30),
        {"forearm": {"max_level": 0.31, "ms": 30000}},
    )
    store.sessions.record_step(
        sid,
        2,
        "brush",
        "Brush",
        t0 + timedelta(seconds=40),
        t0 + timedelta(seconds=45),
        {"brush": {"strokes": 2, "of": 6}},
    )
    steps = store.sessions.get(sid).steps
    assert [s.step_index for s in steps] == [0, 2]
    assert steps[0].finished_at == t0 + timedelta(seconds=30)
    assert steps[0].delivered["forearm"]["max_level"] == 0.31
    with pytest.raises(InvalidInput, match="has 4 steps"):
        store.sessions.record_step(sid, 4, "rest", "x", t0)
    with pytest.raises(InvalidInput, match="timezone"):
        store.sessions.record_step(sid, 1, "rate", "x", t0.replace(tzinfo=None))


def test_abort_unfinished_keeps_what_was_delivered(tmp_path, clock) -> None:
    data = tmp_path / "d"
    with Store.open(data, clock=clock) as s:
        done = run_session(s, clock)
        sid = arm(s)
        s.sessions.set_state(sid, "running")
        s.sessions.record_step(sid, 0, "vibrate", "Buzz", clock(), None, {"forearm": {"ms": 1200}})
    # "power loss": a new process opens the same folder
    with Store.open(data, clock=clock) as s:
        assert s.sessions.abort_unfinished("engine not running at start-up") == [sid]
        aborted = s.sessions.get(sid)
        assert aborted.state == "aborted" and aborted.ended_by == "startup"
        assert aborted.steps[0].delivered == {"forearm": {"ms": 1200}}
        assert s.sessions.get(done).state == "completed"
        assert s.sessions.abort_unfinished("again") == []


def test_list_and_between(store: Store, clock) -> None:
    ids = []
    for _ in range(3):
        ids.append(run_session(store, clock))
        clock.advance(hours=3)
    assert [s.id for s in store.sessions.latest(limit=2)] == ids[::-1][:2]
    assert [s.id for s in store.sessions.latest(limit=2, offset=2)] == [ids[0]]
    start = store.sessions.get(ids[1]).started_at
    between = store.sessions.between(start, start + timedelta(hours=1))
    assert [s.id for s in between] == [ids[1]]


def test_threads_write_concurrently_without_losing_rows(store: Store) -> None:
    sid = arm(store)
    store.sessions.set_state(sid, "running")
    errors: list[BaseException] = []

    def rate(n: int) -> None:
        try:
            for i in range(25):
                store.ratings.add(sid, (n + i) % 11, live=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rate, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.sessions.get(sid).ratings) == 100


def test_connection_pragmas_make_acknowledged_writes_durable(store: Store) -> None:
    with store.db.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    sid = arm(store)
    # committed on return: a separate connection sees the row at once
    other = sqlite3.connect(store.path)
    assert other.execute("SELECT state FROM sessions WHERE id = ?", (sid,)).fetchone() == ("armed",)
    other.close()
