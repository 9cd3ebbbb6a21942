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
    3: [  # columns named: version 3 also added columns to users and plan
        f"""INSERT INTO users (id, name, role, password_hash, created_at)
            VALUES (1, 'ann', 'clinician', 'hash', '{T}')""",
        *_COMMON[1:],
        f"""INSERT INTO plan (id, protocol_id, protocol_version, ranking_json, settings_json,
            updated_at) VALUES (1, 'forearm-basic', '1.0',
            '{{"textures": ["silk", "wool"]}}', '{{"scale": 0.5}}', '{T}')""",
        f"INSERT INTO plan_levels VALUES ('main', 2, '{T}')",
        f"INSERT INTO level_history VALUES (1, '{T}', 'main', NULL, 2, 'initial', NULL)",
        f"INSERT INTO decisions VALUES (1, 1, '{T}', 'main', 'hold', 2, 2, 'mixed ratings')",
        f"INSERT INTO reminders VALUES (1, '{T}', 'due')",
        f"""INSERT INTO rankings VALUES (1, '{T}', 'textures', '["silk", "wool"]', 'intake',
            'clinician:ann')""",
        f"""INSERT INTO thresholds VALUES (1, '{T}', 'forearm', 'detection', 0.12,
            'staircase', 30, '{{}}', 'clinician:ann')""",
    ],
    4: [  # patients: migration 4 made "Patient 1" (id 1); everything names its patient
        f"""INSERT INTO users (id, name, role, password_hash, created_at)
            VALUES (1, 'ann', 'clinician', 'hash', '{T}')""",
        f"""INSERT INTO sessions (id, protocol_id, protocol_version, protocol_hash, level,
            program_json, planned_steps, state, created_at, started_at, ended_at, patient_id)
            VALUES (1, 'forearm-basic', '1.0', 'sha256:abc', 2, '{PROGRAM}', 2, 'completed',
            '{T}', '{T}', '{T}', 1)""",
        *_COMMON[2:4],
        f"INSERT INTO journal VALUES (1, 1, '{T}', 'ok', 'cold', 1)",
        f"""INSERT INTO plan (patient_id, protocol_id, protocol_version, ranking_json,
            settings_json, updated_at) VALUES (1, 'forearm-basic', '1.0',
            '{{"textures": ["silk", "wool"]}}', '{{"scale": 0.5}}', '{T}')""",
        f"INSERT INTO plan_levels VALUES (1, 'main', 2, '{T}')",
        f"INSERT INTO level_history VALUES (1, '{T}', 'main', NULL, 2, 'initial', NULL, 1)",
        f"INSERT INTO decisions VALUES (1, 1, '{T}', 'main', 'hold', 2, 2, 'mixed', 1)",
        f"INSERT INTO reminders VALUES (1, '{T}', 'due', 1)",
        f"""INSERT INTO rankings VALUES (1, '{T}', 'textures', '["silk", "wool"]', 'intake',
            'clinician:ann', 1)""",
        f"""INSERT INTO thresholds VALUES (1, '{T}', 'forearm', 'detection', 0.12,
            'staircase', 30, '{{}}', 'clinician:ann', 1)""",
    ],
}
SEED[5] = [  # discrimination trials (issue 16): each names its session and patient
    *SEED[4],
    f"""INSERT INTO discrimination_trials (patient_id, session_id, step_index, block,
        trial_index, site, probe, answered_site, answered_probe, correct, missed, at)
        VALUES (1, 1, 0, 0, 0, 'hand', NULL, 'hand', NULL, 1, 0, '{T}')""",
]
SEED[6] = [  # body maps and outcome measures (issue 16): new tables only
    *SEED[5],
    f"""INSERT INTO body_maps VALUES (1, 1, '{T}', 'hand-left', '[[[10,10],[60,10],[60,60]]]',
        '{{"landmark": "hand_length", "length_cm": 18.5}}', 6.845, '', 'patient:pat')""",
    f"INSERT INTO outcome_schedule VALUES (1, 'vas', 7, '{T}', 'clinician:ann')",
    f"""INSERT INTO outcome_entries (id, patient_id, at, kind, vas_rest, vas_touch, by)
        VALUES (1, 1, '{T}', 'vas', 20, 65, 'patient:pat')""",
]
G = "0195f3a0-0000-7000-8000-00000000000"  # + one digit: UUIDv7-shaped global ids
_GAINED_GLOBAL_ID = ("steps", "ratings", "journal", "decisions")  # 0007 adds a last column


_GAINED_BY = ("ratings", "journal")  # 0007 then adds who gave it


def _with_global_id(sql: str) -> str:
    """A version-6 row written by position, with version 7's global_id column (NULL), and
    its ``by`` (who gave a rating or wrote an entry) where 0007 adds one."""
    if any(sql.startswith(f"INSERT INTO {t} VALUES") for t in _GAINED_GLOBAL_ID):
        extra = ", NULL, 'patient:pat'" if any(
            sql.startswith(f"INSERT INTO {t} VALUES") for t in _GAINED_BY
        ) else ", NULL"
        return sql[: sql.rindex(")")] + extra + ")"
    return sql


SEED[7] = [  # the outbox for the clinic hub (issue 15): global ids, a row not yet stored
    *map(_with_global_id, SEED[6]),
    f"UPDATE sessions SET global_id = '{G}1' WHERE id = 1",
    f"UPDATE ratings SET global_id = '{G}2' WHERE id = 1",
    f"""INSERT INTO outbox (global_id, kind, payload, created_at, published_at)
        VALUES ('{G}2', 'rating', '{{"value": 4}}', '{T}', '{T}')""",
]
SEED[8] = [  # who changed what (issue 14): a new table only
    *SEED[7],
    f"""INSERT INTO audit (at, actor, patient_id, what, summary, detail_json)
        VALUES ('{T}', 'clinician:ann', 1, 'caps', 'cap x: 1 -> 2', '{{}}')""",
]
SEED[9] = [  # each account's language for the page (issue 14): a new column of users
    *SEED[8],
    "UPDATE users SET locale = 'de' WHERE id = 1",
]
SEED[10] = [  # outcome measures in the outbox (issues 15, 16): the outbox rebuilt, rows kept
    *SEED[9],
    f"""INSERT INTO outbox (global_id, kind, payload, dedupe_key, created_at)
        VALUES ('{G}3', 'outcome', '{{"measure": "vas"}}', 'outcome:outcome_entries:1', '{T}')""",
]


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
        if version >= 3:  # the ranking history survives; before 3 there was none
            [ranked] = store.rankings.history(ladder="textures")
            assert (ranked.order, ranked.context) == (["silk", "wool"], "intake")
        else:
            assert store.rankings.history() == []
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


def test_version_7_gives_earlier_sessions_global_ids_and_reports_no_history(
    tmp_path: Path,
) -> None:
    """Sessions recorded before the outbox get a global id each (later records may name
    them); nothing from before is queued for the hub; a version-7 outbox row survives."""
    for version, queued in ((6, 0), (7, 1)):
        data = tmp_path / f"v{version}"
        data.mkdir()
        _build(data / DB_NAME, version)
        with Store.open(data) as store, store.db.read() as conn:
            [gid] = [r[0] for r in conn.execute("SELECT global_id FROM sessions")]
            assert gid is not None and len(gid) == 36
            assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == queued
