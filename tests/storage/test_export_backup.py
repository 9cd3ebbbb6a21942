"""Exports (CSV a spreadsheet can open, JSON of the whole record, the report's data),
backup and restore while the station writes, and the three CLI commands."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from station.cli import main
from station.errors import Conflict, StorageError
from station.storage import Store
from station.storage.backup import backup, restore
from station.storage.db import DB_NAME
from station.storage.export import CSV_COLUMNS, export_csv, export_json, report_data
from station.storage.migrations import latest_version

from .helpers import arm, run_session
from .test_migrations import _build


def _record(store: Store, clock) -> tuple[int, int]:
    store.users.create("ann", "clinician", "secret-hash")
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    sid = arm(store, level_name="gentle")
    store.sessions.set_state(sid, "running")
    t = clock()
    store.sessions.record_step(
        sid, 0, "vibrate", "Buzz", t, t + timedelta(seconds=30), {"forearm": {"max_level": 0.3}}
    )
    store.ratings.add(sid, 7, step_index=0, live=True)
    store.ratings.add(
        sid, 4, step_index=1, pleasantness=3, lingering=True, lingering_where='=HYPERLINK("x")'
    )
    store.sessions.record_step(sid, 1, "rate", "Rate it", t + timedelta(seconds=30))
    clock.advance(minutes=4)
    store.sessions.set_state(sid, "completed")
    store.journal.add("Brennt ein bisschen — ok", trigger="-cold")
    store.progress.record_decision(sid, "advance", 0, 1, "rated 4 or less")
    clock.advance(hours=3)
    stopped = run_session(store, clock, final="stopped")
    return sid, stopped


def test_csv_one_row_per_step_opens_as_a_spreadsheet(store: Store, clock, tmp_path) -> None:
    sid, stopped = _record(store, clock)
    out = tmp_path / "x.csv"
    assert export_csv(store, out) == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == CSV_COLUMNS
    assert [(r["session_id"], r["step_index"]) for r in rows] == [
        (str(sid), "0"),
        (str(sid), "1"),
        (str(stopped), ""),
    ]
    first, second = rows[0], rows[1]
    assert first["discomfort_live_max"] == "7" and first["discomfort"] == ""
    assert json.loads(first["delivered"]) == {"forearm": {"max_level": 0.3}}
    assert second["discomfort"] == "4" and second["pleasantness"] == "3"
    assert second["lingering"] == "yes"
    assert second["lingering_where"].startswith("'=")  # formula injection made inert
    assert first["journal"] == "Brennt ein bisschen — ok"
    assert first["journal_trigger"] == "'-cold"
    assert first["decision"] == "advance"
    assert first["step_started_at"].endswith("+00:00")
    assert rows[2]["session_state"] == "stopped" and rows[2]["ended_by"] == "panel"


def test_json_is_the_whole_record_and_round_trips(store: Store, clock) -> None:
    sid, _ = _record(store, clock)
    clock.advance(days=2)
    store.journal.add("a bad day, no session")  # long after the last session: on its own
    data = export_json(store)
    again = json.loads(json.dumps(data))
    assert again == data
    h = data["header"]
    assert h["schema_version"] == latest_version() and h["station_version"]
    assert h["protocols"] == [
        {"protocol_id": "forearm-basic", "protocol_version": "1.0", "protocol_hash": "sha256:abc"}
    ]
    assert "secret-hash" not in json.dumps(data)
    session = next(s for s in data["sessions"] if s["id"] == sid)
    assert [r["value"] for r in session["ratings"]] == [7, 4]
    assert session["decision"]["reason"] == "rated 4 or less"
    assert data["plan"]["levels"] == {"main": 1}
    assert [c["to_level"] for c in data["level_history"]] == [0, 1]
    assert [j["text"] for j in data["journal_without_session"]] == ["a bad day, no session"]


def test_report_data_ratings_levels_adherence(store: Store, clock) -> None:
    _record(store, clock)
    rep = report_data(store, sessions_per_day=2, start=date(2026, 3, 9), end=date(2026, 3, 10))
    assert [p["discomfort_last"] for p in rep["ratings_over_time"]] == [4, None]
    assert rep["ratings_over_time"][0]["live_max"] == 7
    adh = rep["adherence"]
    # The plan began on 10 March: 9 March, before it, prescribes nothing (issue 12), so
    # 2 sessions were prescribed (10 March at 2 a day), 1 completed: 50 %.
    assert (adh["sessions_prescribed"], adh["sessions_completed"]) == (2, 1)
    assert adh["sessions_started"] == 2 and adh["percent"] == 50.0
    assert rep["stopped_sessions"][0]["by"] == "panel"
    json.dumps(rep)  # JSON-safe for the page


def _writer(store: Store, sid: int, stop: threading.Event, counter: list[int]) -> None:
    while not stop.is_set():
        store.ratings.add(sid, 5, live=True)
        counter[0] += 1


def test_backup_while_writing_then_restore_into_the_running_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store.open(data)
    store.users.create("ann", "clinician", "h")
    sid = store.sessions.create("p", "1", "h", 0, "{}", 2)
    store.sessions.set_state(sid, "running")
    stop, counter = threading.Event(), [0]
    t = threading.Thread(target=_writer, args=(store, sid, stop, counter))
    t.start()
    try:
        while counter[0] < 50:
            time.sleep(0.001)
        dest = backup(data, tmp_path / "b1.db")  # a second connection, as the CLI does
        at_backup = counter[0]
    finally:
        stop.set()
        t.join()
    snap = sqlite3.connect(dest)
    assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert snap.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    n_backup = snap.execute("SELECT count(*) FROM ratings").fetchone()[0]
    snap.close()
    assert 50 <= n_backup <= at_backup + 1
    assert not list(tmp_path.glob(".*partial"))
    with pytest.raises(Conflict, match="already exists"):
        backup(store, dest)
    # restore refuses while the session runs, then works into the live, open store
    with pytest.raises(Conflict, match="stop it before restoring"):
        restore(dest, data)
    store.sessions.set_state(sid, "stopped", reason="for restore", by="test")
    store.users.create("bob", "patient", "h")
    result = restore(dest, data)
    assert result.previous_kept_as and result.previous_kept_as.exists()
    assert store.users.get("bob") is None  # the open store sees the restored record
    assert len(store.sessions.get(sid).ratings) == n_backup
    assert store.sessions.get(sid).state == "aborted"  # in progress in the backup
    assert result.sessions_aborted == [sid]
    kept = sqlite3.connect(result.previous_kept_as)
    assert kept.execute("SELECT count(*) FROM users WHERE name='bob'").fetchone()[0] == 1
    kept.close()
    store.close()


def test_restore_refuses_bad_files_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as s:
        s.users.create("ann", "clinician", "h")
    live = data / DB_NAME
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"nope" * 1000)
    newer = tmp_path / "newer.db"
    backup(data, newer)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    for bad, msg in (
        (junk, "not a usable backup"),
        (newer, "newer station"),
        (tmp_path / "missing.db", "no such backup"),
    ):
        with pytest.raises(StorageError, match=msg):
            restore(bad, data)
    with Store.open(data) as s:
        assert s.users.get("ann")
    assert not list(data.glob("*.bak")) and not list(data.glob(".restore-*"))
    assert live.exists()


def test_restore_an_older_version_migrates_and_replaces_a_corrupt_db(tmp_path: Path) -> None:
    old = tmp_path / "v1"
    old.mkdir()
    _build(old / DB_NAME, 1)
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"garbage" * 500)
    result = restore(old / DB_NAME, data)
    assert result.schema_version_in_file == 1 and result.schema_version_now == latest_version()
    assert result.previous_kept_as.read_bytes() == b"garbage" * 500
    with Store.open(data) as s:
        assert s.plans.get().levels == {"main": 2}


def test_cli_export_backup_restore(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    with Store.open(data) as s:
        sid = s.sessions.create("p", "1", "h", 0, "{}", 1)
        s.sessions.set_state(sid, "running")
        s.ratings.add(sid, 3, live=True)
        s.sessions.set_state(sid, "completed")
    out = tmp_path / "out"
    assert main(["export", "--format", "csv", "--out", str(out), "--data-dir", str(data)]) == 0
    assert main(["export", "--format", "json", "--out", str(out), "--data-dir", str(data)]) == 0
    (csv_file,) = out.glob("*.csv")
    (json_file,) = out.glob("*.json")
    assert json.loads(json_file.read_text())["sessions"][0]["ratings"][0]["value"] == 3
    assert "session_id" in csv_file.read_text(encoding="utf-8-sig").splitlines()[0]
    bfile = tmp_path / "b.db"
    assert main(["backup", str(bfile), "--data-dir", str(data)]) == 0
    assert main(["restore", str(bfile), "--data-dir", str(data), "--yes"]) == 0
    assert "kept as" in capsys.readouterr().out
    missing = tmp_path / "nothing-here"
    assert main(["export", "--format", "csv", "--out", str(out), "--data-dir", str(missing)]) == 1
    assert "no station database" in capsys.readouterr().err


def test_cli_export_is_on_the_simulated_clock_the_page_used(tmp_path: Path) -> None:
    """A simulated station whose clock was moved 30 days ahead (sim-clock.json, as the
    app leaves it): ``station export`` dates the file and ``exported_at`` on that clock,
    not on the wall clock, so its "today" is the page's."""
    from datetime import UTC, datetime

    data = tmp_path / "data"
    with Store.open(data):
        pass
    (data / "sim-clock.json").write_text(json.dumps({"ahead_s": 30 * 86400, "advanced_s": 0}))
    out = tmp_path / "out"
    assert main(["export", "--format", "json", "--out", str(out), "--data-dir", str(data)]) == 0
    (json_file,) = out.glob("*.json")
    expected = datetime.now(UTC) + timedelta(days=30)
    exported = datetime.fromisoformat(json.loads(json_file.read_text())["header"]["exported_at"])
    assert abs(exported - expected) < timedelta(minutes=5), exported
    assert json_file.name == f"station-export-{exported:%Y%m%dT%H%M%SZ}.json"
