"""Schema migrations from every earlier version, and the files the station must refuse:
one from a newer station, a corrupt one, a foreign SQLite file. Refused files are kept
byte for byte."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from station.errors import StorageError
from station.storage import Store
from station.storage.db import APPLICATION_ID, DB_NAME, connect
from station.storage.migrations import latest_version, load_migrations, migrate

T = "2026-03-01T10:00:00.000+00:00"
PROGRAM = '{"steps": [{"index": 0, "kind": "vibrate"}, {"index": 1, "kind": "rate"}]}'
_COMMON = [
    f"INSERT INTO users VALUES (1, 'ann', 'clinician', 'hash', '{T}')",
    f"""INSERT INTO sessions (id, protocol_id, protocol_version, protocol_hash, level,
        program_json, planned_steps, state, created_at, started_at, ended_at)
        VALUES (1, 'forearm-basic', '1.0', 'sha256:abc', 2, '{PROGRAM}', 2, 'completed',
        '{T}', '{T}', '{T}')""",
    f"INSERT INTO steps VALUES (1, 1, 0, 'vibrate', 'Buzz', '{T}', '{T}', '{{\"ms\": 900}}')",
    f"INSERT INTO ratings VALUES (1, 1, 1, '{T}', 0, 4, -2, 1, 'wrist')",
    f"INSERT INTO journal VALUES (1, 1, '{T}', 'ok', 'cold')",
]
# Representative rows as each schema version stored them. Adding a migration means adding
# the rows its predecessor held here (the completeness test below insists).
SEED: dict[int, list[str]] = {
    1: [
        *_COMMON,
        f"""INSERT INTO plan VALUES (1, 'forearm-basic', '1.0', '{{"main": 2}}',
            '{{"textures": ["silk", "wool"]}}', '{{"scale": 0.5}}', '{T}')""",
    ],
    2: [
        *_COMMON,
        f"""INSERT INTO plan VALUES (1, 'forearm-basic', '1.0',
            '{{"textures": ["silk", "wool"]}}', '{{"scale": 0.5}}', '{T}')""",
        f"INSERT INTO plan_levels VALUES ('main', 2, '{T}')",
        f"INSERT INTO level_history VALUES (1, '{T}', 'main', NULL, 2, 'initial', NULL)",
        f"INSERT INTO decisions VALUES (1, 1, '{T}', 'main', 'hold', 2, 2, 'mixed ratings')",
        f"INSERT INTO reminders VALUES (1, '{T}', 'due')",
    ],
}


def _build(path: Path, version: int) -> None:
    conn = connect(path)
    try:
        assert migrate(conn, path, up_to=version) == version
        conn.execute("BEGIN")
        for sql in SEED.get(version, []):
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_there_are_several_migrations_and_seeds_for_each() -> None:
    assert latest_version() >= 2
    assert [m.version for m in load_migrations()] == list(range(1, latest_version() + 1))
    assert set(SEED) == set(range(1, latest_version() + 1))


@pytest.mark.parametrize("version", range(0, latest_version() + 1))
def test_migrates_from_every_version_keeping_data(tmp_path: Path, version: int) -> None:
    data = tmp_path / "d"
    data.mkdir()
    _build(data / DB_NAME, version)
    with Store.open(data) as store:
        assert store.schema_version == latest_version()
        if version == 0:
            assert store.sessions.latest() == []
            return
        assert store.users.get("ann").role == "clinician"
        plan = store.plans.get()
        assert plan.levels == {"main": 2}
        assert plan.ranking == {"textures": ["silk", "wool"]}
        assert plan.settings == {"scale": 0.5}
        s = store.sessions.get(1)
        assert (s.state, s.level, s.ladder) == ("completed", 2, "main")
        assert s.steps[0].delivered == {"ms": 900}
        r = s.ratings[0]
        assert (r.value, r.pleasantness, r.lingering, r.lingering_where) == (4, -2, True, "wrist")
        assert s.journal[0].trigger == "cold"
        assert [c.to_level for c in store.progress.level_history()] == [2]
        # the migrated database takes new writes of every kind
        store.plans.set_level("main", 3, "after migration")
        assert store.plans.get().levels == {"main": 3}
    conn = sqlite3.connect(data / DB_NAME)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    data = tmp_path / "d"
    Store.open(data).close()
    path = data / DB_NAME
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError) as err:
        Store.open(data)
    msg = str(err.value)
    assert str(path) in msg and f"schema version {latest_version() + 1}" in msg
    assert f"up to version {latest_version()}" in msg and "update the station" in msg
    assert path.read_bytes() == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version() + 1
    conn.close()


def test_garbage_file_is_refused_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    path = data / DB_NAME
    path.write_bytes(b"this is not a database at all " * 200)
    before = path.read_bytes()
    with pytest.raises(StorageError, match="station restore"):
        Store.open(data)
    assert path.read_bytes() == before


def test_damaged_pages_are_found_at_start_up_and_file_kept(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with Store.open(data) as store:
        sid = store.sessions.create("p", "1", "h", 0, "{}", 3)
        store.sessions.set_state(sid, "running")
        for i in range(400):
            store.ratings.add(sid, i % 11, live=True)
    path = data / DB_NAME
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    raw = bytearray(path.read_bytes())
    assert len(raw) > 4 * page
    for p in range(2, len(raw) // page):  # scribble over every page but the header
        raw[p * page + 8 : p * page + 64] = b"\xa5" * 56
    path.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match=r"integrity check|damaged") as err:
        Store.open(data)
    assert "restore" in str(err.value)
    assert path.read_bytes() == bytes(raw)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.close()
    with pytest.raises(StorageError, match="not a station database"):
        Store.open(data)
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(StorageError, match="not a station database"):
        Store.open(data)


def test_open_without_create_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no station database"):
        Store.open(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()
