"""Several patients on one station (issue 14): each patient's record is theirs alone.

Expected values come from the rule the clinic states: a patient owns their plan, ranking,
thresholds, settings, sessions, ratings, journal and reminders, and sees only their own;
another patient's session is "not found", never "forbidden" (that would confirm it
exists). A station upgraded from one patient keeps every record under Patient 1."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import Store
from station.storage.db import DB_NAME, connect
from station.storage.migrations import migrate
from station.storage.patients import PatientRequired
from tests.storage.test_migrations import SEED

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
PROGRAM = {"steps": [{"index": 0, "kind": "vibrate"}, {"index": 1, "kind": "rate"}]}


def _played(store: Store, *, rating: int) -> int:
    sid = store.sessions.create("forearm-basic", "1.0", "sha256:x", 0, PROGRAM, 2)
    store.sessions.set_state(sid, "running")
    store.ratings.add(sid, rating, step_index=1)
    store.sessions.set_state(sid, "completed")
    return sid


def test_a_new_station_has_one_patient_and_needs_no_choice(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        [only] = store.patients.list()
        assert only.display_name == "Patient 1" and UUID4.match(only.global_id)
        assert store.patient_id == only.id
        sid = _played(store, rating=3)  # the plain store is the one patient's
        assert store.for_patient(only.id).sessions.get(sid).ratings[0].value == 3


def test_two_patients_never_see_each_others_records(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        p1 = store.patients.list()[0].id
        p2 = store.patients.add("Bea", notes="left forearm", enrolled_on=date(2026, 3, 2)).id
        a, b = store.for_patient(p1), store.for_patient(p2)
        a.plans.set("forearm-basic", "1.0", levels={"main": 1}, settings={"scale": 0.4})
        b.plans.set("hand-basic", "2.0", levels={"main": 4}, settings={"scale": 0.9})
        sa, sb = _played(a, rating=2), _played(b, rating=9)
        a.journal.add("A's note")
        b.journal.add("B's note", session_id=sb)
        a.reminders.record("due")
        a.thresholds.add(actuator="forearm", kind="detection", value=0.1, method="s", trials=3)
        a.rankings.record("main", ["silk", "wool"])
        a.progress.record_decision(sa, "advance", 1, 2, "all low")

        assert b.plans.get().protocol_id == "hand-basic" and b.plans.get().levels == {"main": 4}
        assert a.plans.get().levels == {"main": 2} and b.plans.get().settings == {"scale": 0.9}
        assert [s.id for s in b.sessions.latest()] == [sb]
        assert [j.text for j in b.journal.entries()] == ["B's note"]
        assert len(a.reminders.between(EVER[0], EVER[1])) == 1
        assert b.reminders.between(EVER[0], EVER[1]) == []
        assert b.thresholds.history() == [] and b.rankings.history() == []
        assert b.rankings.in_force() == {} and b.progress.history()[0]["decision"] is None
        assert [c.to_level for c in b.progress.level_history()] == [4]
        # another patient's session, rating or decision: not found, exactly like none
        for guess in (lambda: b.sessions.get(sa), lambda: b.ratings.add(sa, 1),
                      lambda: b.journal.add("x", session_id=sa),
                      lambda: b.progress.record_decision(sa, "hold", 1, 1, "x"),
                      lambda: b.plans.set_level("main", 1, "x", session_id=sa)):  # fmt: skip
            with pytest.raises(NotFound, match=f"no session with id {sa};"):
                guess()
        rid = a.sessions.get(sa).ratings[0].id
        with pytest.raises(NotFound):
            b.ratings.get(rid)
        # the plain store refuses to guess once there are two
        with pytest.raises(PatientRequired):
            store.sessions.latest()


def test_one_engine_a_running_session_blocks_every_patients_arming(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        a = store.for_patient(store.patients.list()[0].id)
        b = store.for_patient(store.patients.add("Bea").id)
        sa = a.sessions.create("p", "1", "h", 0, PROGRAM, 2)
        sb = b.sessions.create("p", "1", "h", 0, PROGRAM, 2)  # replaces A's armed one
        assert a.sessions.get(sa).state == "stopped"
        assert "another patient" in a.sessions.get(sa).end_reason  # B's id is not told
        b.sessions.set_state(sb, "running")
        with pytest.raises(Conflict, match="another patient's session is running"):
            a.sessions.create("p", "1", "h", 0, PROGRAM, 2)


def test_patient_records_add_update_archive_and_accounts(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        bea = store.patients.add("Bea")
        with pytest.raises(Conflict, match="exists already"):
            store.patients.add("bea")
        assert store.patients.update(bea.id, notes="use the hand pad").notes == "use the hand pad"
        with pytest.raises(InvalidInput, match="--patient ID"):  # two: name its own
            store.users.create("bea", "patient", "hash")
        assert store.users.create("bea", "patient", "hash", patient_id=bea.id).patient_id == bea.id
        with pytest.raises(InvalidInput, match="patient_id"):
            store.users.create("doc", "clinician", "hash", patient_id=bea.id)
        with pytest.raises(InvalidInput, match="patient_id"):
            store.users.create("ghost", "patient", "hash", patient_id=99)
        assert store.users.create("doc", "clinician", "hash").patient_id is None
        assert store.patients.archive(bea.id).archived
        assert [p.display_name for p in store.patients.list()] == ["Patient 1"]
        assert store.patient_id == 1  # one active patient again: no choice needed
        with pytest.raises(NotFound):
            store.for_patient(42)


def test_a_one_patient_station_migrates_with_every_record_under_patient_1(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    path = data / DB_NAME
    conn = connect(path)
    migrate(conn, path, up_to=3)
    conn.execute("BEGIN")
    for sql in SEED[3]:
        conn.execute(sql)
    conn.execute(
        "INSERT INTO users (id, name, role, password_hash, created_at) "
        "VALUES (2, 'pat', 'patient', 'hash', '2026-03-01T10:00:00.000+00:00')"
    )
    conn.execute("COMMIT")
    conn.close()
    with Store.open(data) as store:
        [p1] = store.patients.list()
        assert (p1.id, p1.display_name, p1.enrolled_on) == (1, "Patient 1", date(2026, 3, 1))
        assert store.users.get("pat").patient_id == 1 and store.users.get("ann").patient_id is None
        one = store.for_patient(1)
        assert one.plans.get().levels == {"main": 2} and one.sessions.get(1).ratings[0].value == 4
        store.patients.add("Bea")  # a second patient starts empty
        bea = store.for_patient(2)
        assert bea.plans.get() is None and bea.sessions.latest() == []
        assert bea.journal.entries() == [] and bea.progress.level_history() == []
    raw = sqlite3.connect(path)
    for table in ("plan", "plan_levels", "level_history", "sessions", "journal", "reminders",
                  "decisions", "rankings", "thresholds"):  # fmt: skip
        owners = {r[0] for r in raw.execute(f"SELECT patient_id FROM {table}")}
        assert owners == {1}, table
    raw.close()
