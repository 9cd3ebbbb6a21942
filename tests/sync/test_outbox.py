"""The outbox (schema 7): every record the hub must get is queued in the SAME transaction
as the record, in the clinic's contract (station/hub/messages.py), naming the patient
only by the pseudonymous id.

Expected values come from the issue and the contract: a played session yields its steps,
ratings, the session, the journal entry and the decision; a fault that ended it a fault
record; an armed program that never started nothing."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from station.hub import messages as m
from station.storage import Store
from station.storage.outbox_queue import OutboxQueue
from tests.sync.records import play_session


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "data") as s:
        yield s


def _records(store: Store) -> list[m.BaseModel]:
    return [
        m.RECORD.validate_python({**json.loads(r["payload"]), "station_id": "ward-1"})
        for r in OutboxQueue(store.db).rows()
    ]


def _fail_on(store: Store, sql: str) -> None:
    with store.db.tx() as conn:
        conn.execute(sql)


def test_a_played_session_queues_every_record_in_the_contract(store: Store) -> None:
    patient = store.patients.get(store.patient_id)
    sid = play_session(store)
    recs = _records(store)
    assert Counter(r.kind for r in recs) == Counter(
        {"step": 2, "rating": 2, "session": 1, "journal": 1, "decision": 1}
    )
    session = next(r for r in recs if r.kind == "session")
    assert session.local_id == sid and session.state == "completed"
    assert session.delivered_steps == 2 and session.planned_steps == 4
    with store.db.read() as conn:
        gid = conn.execute("SELECT global_id FROM sessions WHERE id = ?", (sid,)).fetchone()[0]
    assert str(session.id) == gid
    for rec in recs:  # every record names the patient by the pseudonymous id, and its session
        assert str(rec.patient_id) == patient.global_id
        if rec.kind in ("step", "rating", "journal", "decision"):
            assert str(rec.session_id) == gid
    decision = next(r for r in recs if r.kind == "decision")
    assert decision.action == "stay"  # the station's "hold" in the contract's words
    raw = json.dumps([r["payload"] for r in OutboxQueue(store.db).rows()])
    assert patient.display_name not in raw
    assert len({r.id for r in recs}) == len(recs)


def test_a_fault_that_ended_a_session_is_reported(store: Store) -> None:
    play_session(store, stopped_by_fault=True)
    [fault] = [r for r in _records(store) if r.kind == "fault"]
    assert (fault.device, fault.fault) == ("haptic_left", "over_temperature")


def test_a_program_armed_and_never_started_is_not_reported(store: Store) -> None:
    sid = store.sessions.create("tapping", "1.0", "sha256:abc", 0, {"steps": []}, 0)
    store.sessions.set_state(sid, "stopped", "disarmed", "system")
    assert OutboxQueue(store.db).rows() == []


def test_outbox_failure_leaves_no_rating(store: Store) -> None:
    sid = store.sessions.create("tapping", "1.0", "sha256:abc", 0, {"steps": []}, 0)
    store.sessions.set_state(sid, "running", enforce_limits=False)
    _fail_on(store, "CREATE TRIGGER t BEFORE INSERT ON outbox "
                    "BEGIN SELECT RAISE(ABORT, 'forced'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError, match="forced"):
        store.ratings.add(sid, 4, live=True)
    with pytest.raises(sqlite3.IntegrityError, match="forced"):
        store.journal.add("no entry without its report")
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_failure_after_the_outbox_row_leaves_neither(store: Store) -> None:
    """The session's end writes its record, then its outbox row; a failure after both
    (here: a trigger on the outbox row) undoes both: still running, nothing queued."""
    sid = store.sessions.create("tapping", "1.0", "sha256:abc", 0, {"steps": []}, 0)
    store.sessions.set_state(sid, "running", enforce_limits=False)
    _fail_on(store, "CREATE TRIGGER t AFTER INSERT ON outbox WHEN NEW.kind = 'session' "
                    "BEGIN SELECT RAISE(ABORT, 'forced'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError, match="forced"):
        store.sessions.set_state(sid, "completed", "completed", "engine")
    assert store.sessions.get(sid, full=False).state == "running"
    assert OutboxQueue(store.db).rows() == []
    _fail_on(store, "DROP TRIGGER t")
    store.sessions.set_state(sid, "completed", "completed", "engine")
    assert [r["kind"] for r in OutboxQueue(store.db).rows()] == ["session"]


def test_stored_rows_are_kept_until_the_hub_names_them(store: Store) -> None:
    play_session(store)
    q = OutboxQueue(store.db)
    due = q.due()
    assert [p.seq for p in due] == sorted(p.seq for p in due)  # in the order written
    q.mark_published([p.seq for p in due])
    assert q.due() == [] and q.counts()["pending"] == len(due)  # published is not stored
    assert q.mark_stored([due[0].global_id, due[0].global_id]) == 1
    assert q.counts()["pending"] == len(due) - 1
