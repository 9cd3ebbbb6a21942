"""Outcome measures in the outbox (issues 15 and 16): a VAS entry, a flare, a body map's
zone area and a session's discrimination score are each queued in the SAME transaction as
the record, in the clinic's contract (station/hub/messages.py ``OutcomeRecord``).

Expected values come from the records written here and from geometry: a 50 x 50 unit
square on the hand outline (250 units = the measured hand length, 20 cm) is 4 cm x 4 cm,
16 cm^2; a session with 3 trials (2 named right, 1 unanswered) scores 3/2/1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from station.hub import messages as m
from station.storage import Store
from station.storage.db import DB_NAME
from station.storage.discrimination import discrimination_of
from station.storage.outbox_queue import OutboxQueue
from tests.storage.test_migrations import G, _build

SQUARE = [[[20, 40], [70, 40], [70, 90], [20, 90]]]  # 50 x 50 outline units


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "data") as s:
        yield s


def _outcomes(store: Store) -> list[m.OutcomeRecord]:
    recs = [
        m.RECORD.validate_python({**json.loads(r["payload"]), "station_id": "ward-1"})
        for r in OutboxQueue(store.db).rows()
    ]
    return [r for r in recs if isinstance(r, m.OutcomeRecord)]


def discriminated_session(store: Store, answers: list[bool | None]) -> int:
    """A played session with one trial per answer: True right, False wrong, None missed."""
    sid = store.sessions.create("discrimination", "1.0", "sha256:abc", 0, {"steps": []}, 1)
    store.sessions.set_state(sid, "running", enforce_limits=False)
    trials = discrimination_of(store)
    for i, answer in enumerate(answers):
        where = {"session_id": sid, "step_index": 0, "block": 0, "trial_index": i}
        if answer is None:
            trials.miss(**where, site="forearm", probe=None)
        else:
            named = "forearm" if answer else "wrist"
            trials.answer(**where, site="forearm", probe=None, answered_site=named,
                          answered_probe=None, correct=answer)  # fmt: skip
    store.sessions.set_state(sid, "completed", "completed", "engine")
    return sid


def test_vas_and_flare_are_reported_medication_stays_home(store: Store) -> None:
    patient = store.patients.get(store.patient_id)
    vas = store.outcomes.add_vas(rest=23, touch=71, by="patient:pat")
    flare = store.outcomes.add_flare(note="after the cold shower", by="patient:pat")
    store.outcomes.add_medication(medication="ibuprofen", dose="400 mg")
    got = _outcomes(store)
    assert [(o.measure, o.local_id) for o in got] == [("vas", vas.id), ("flare", flare.id)]
    assert (got[0].vas_rest, got[0].vas_use, got[0].vas_touch) == (23, None, 71)
    assert got[1].note == "after the cold shower"
    assert {str(o.patient_id) for o in got} == {patient.global_id}
    raw = json.dumps([r["payload"] for r in OutboxQueue(store.db).rows()])
    assert "ibuprofen" not in raw and patient.display_name not in raw


def test_a_body_map_reports_its_zone_area(store: Store) -> None:
    drawn = store.bodymaps.add(outline_id="hand-left", shapes=SQUARE, length_cm=20.0)
    [zone] = _outcomes(store)
    assert (zone.measure, zone.local_id, zone.outline) == ("zone_area", drawn.id, "hand-left")
    assert zone.area_cm2 == pytest.approx(16.0, rel=0.01)


def test_a_session_reports_its_discrimination_score(store: Store) -> None:
    sid = discriminated_session(store, [True, True, None])
    [score] = _outcomes(store)
    with store.db.read() as conn:
        gid = conn.execute("SELECT global_id FROM sessions WHERE id = ?", (sid,)).fetchone()[0]
    assert (score.measure, score.local_id, str(score.session_id)) == ("discrimination", sid, gid)
    assert (score.trials, score.correct, score.missed) == (3, 2, 1)
    # the session record itself is there too, and a session without trials has no score
    assert [r["kind"] for r in OutboxQueue(store.db).rows()].count("session") == 1
    discriminated_session(store, [])
    assert len(_outcomes(store)) == 1


def test_no_outcome_without_its_report_and_no_report_without_it(store: Store) -> None:
    with store.db.tx() as conn:
        conn.execute("CREATE TRIGGER t BEFORE INSERT ON outbox WHEN NEW.kind = 'outcome' "
                     "BEGIN SELECT RAISE(ABORT, 'forced'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError, match="forced"):
        store.outcomes.add_vas(rest=40)
    with pytest.raises(sqlite3.IntegrityError, match="forced"):
        store.bodymaps.add(outline_id="hand-left", shapes=SQUARE, length_cm=20.0)
    with store.db.read() as conn:
        for table in ("outcome_entries", "body_maps", "outbox"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_the_outbox_rebuild_keeps_every_queued_row(tmp_path: Path) -> None:
    """Schema 10 rebuilds the outbox to allow outcome rows: a version-9 database keeps its
    queued row (id, kind, publish mark) and then takes outcome rows."""
    data = tmp_path / "d"
    data.mkdir()
    _build(data / DB_NAME, 9)
    with Store.open(data) as s:
        [row] = OutboxQueue(s.db).rows()
        assert (row["global_id"], row["kind"]) == (f"{G}2", "rating")
        assert row["published_at"] is not None and row["stored_at"] is None
        s.outcomes.add_vas(use=10)
        assert [r["kind"] for r in OutboxQueue(s.db).rows()] == ["rating", "outcome"]
