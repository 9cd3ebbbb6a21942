"""A full disk (issue 13, "faults tell the truth"): a rating at or above the stop
threshold stops the engine first; when the disk then refuses the rating and the session's
end, the answer still says the session stopped (never "409 refused" while the engine did
stop), and the record catches up, with the real end reason, once the disk takes writes.

The disk is made full for real, as SQLite sees it: ``PRAGMA max_page_count`` at the
database's current size (SQLite's own limit; the write then fails with SQLITE_FULL,
"database or disk is full", exactly as on ENOSPC), and the ratings table's last page
filled with earlier ratings of the same shape until SQLite refuses one, so the next
rating needs a page the file may not have.
"""

from __future__ import annotations

import pytest

from station.errors import StorageFull

from .conftest import engine_call, wait_for

THRESHOLD_REASON = "at or above the stop threshold"  # what the record must end up saying


def fill_the_disk(coord, sid: int) -> int:
    """Earlier live ratings of ``sid`` until the database, at its size limit, is full."""
    with coord.store.db.read() as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    coord.store.db._conn.execute(f"PRAGMA max_page_count = {pages}")
    n = 0
    with pytest.raises(StorageFull, match="database or disk is full"):
        for _ in range(10_000):
            coord.store.ratings.add(sid, 1, step_index=None, live=True)
            n += 1
    return n


def free_the_disk(coord) -> None:
    coord.store.db._conn.execute("PRAGMA max_page_count = 1073741823")


def test_a_stopping_rating_on_a_full_disk_is_answered_as_a_stop(patient, coord, engine) -> None:
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: engine_call(engine, "sim.outputs")["forearm"]["active"])
    earlier = fill_the_disk(coord, sid)
    try:
        r = patient.post("/api/ratings", json={"value": 9})
        # The engine stopped: every output is off, and the answer says so.
        outputs = engine_call(engine, "sim.outputs")
        assert not any(o["active"] for o in outputs.values()), outputs
        assert r.status_code == 202, r.get_json()
        body = r.get_json()
        assert body["stopped"] is True and body["saved"] is False and body["id"] is None
        assert "disk is full" in body["message"] and "stopped" in body["message"]
        # Nothing could be written yet: the record still shows the session playing...
        assert coord.store.sessions.get(sid).state in ("running", "paused")
        assert coord.recorder.pending.waiting()
        # ...and a page stop meanwhile is still a stop, not a refusal.
        r = patient.post("/api/stop", json={})
        assert r.status_code == 200 and r.get_json()["stopped"] is True
        # A rating that stops nothing is refused plainly (503, storage_full), never a 500.
        r = patient.post("/api/ratings", json={"value": 2})
        assert r.status_code in (201, 503), r.get_json()
        if r.status_code == 503:
            assert r.get_json()["error"]["code"] == "storage_full"
    finally:
        free_the_disk(coord)
    # The disk takes writes again: the retry writes the rating, then the end, with the
    # rating's reason (not the engine's later "stopped" nor the page's stop).
    wait_for(lambda: coord.store.sessions.get(sid).state == "stopped", timeout=15)
    session = coord.store.sessions.get(sid)
    assert THRESHOLD_REASON in session.end_reason and "9" in session.end_reason
    values = [x.value for x in session.ratings]
    assert values[:earlier] == [1] * earlier and 9 in values[earlier:]
    assert not coord.recorder.pending.waiting()
