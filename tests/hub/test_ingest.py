"""Ingest against a real Mosquitto (TLS, ACL) and `station hub run`, on SQLite and on a
real PostgreSQL: what the stations published is at the hub exactly once, through
duplicates, a SIGKILLed hub and a killed broker.

Expected values come from what the simulated stations published (their own list of
records, each with its global id), never from the hub's code."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from station.hub import messages as m
from station.hub.simstation import SimStation
from station.hub.store import HubStore
from tests.hub.hubkit import HubProcess, wait_for
from tests.hub.stations import drain, publish_days

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """None (SQLite in the hub's data dir) or a fresh PostgreSQL database per test."""
    if request.param == "sqlite":
        return None
    import uuid

    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"hub_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def _stations(broker, *specs):
    out = []
    for sid, patients in specs:
        s = SimStation(station_id=sid, broker=broker.add_station(sid), patients=patients)
        s.start_client()
        assert s.connected.wait(15), f"{sid} could not connect"
        out.append(s)
    return out


def _hub(broker, tmp_path, database, workers=1):
    hub = HubProcess(
        broker_url=broker.url, data_dir=broker.data_dir, database=database, workers=workers
    )
    hub.start()
    return hub


def _assert_exactly_once(store: HubStore, published: list[m.BaseModel]) -> None:
    want = Counter(str(r.id) for r in published)
    assert max(want.values()) == 1, "the simulated stations reused an id"
    got = Counter(rid for rid, _t in store.ids())
    assert got == want, (
        f"missing {len(set(want) - set(got))}, extra {len(set(got) - set(want))}, "
        f"duplicated {[k for k, v in got.items() if v > 1][:5]}"
    )


def test_two_stations_records_arrive_once_with_global_ids(broker, tmp_path, database):
    a, b = _stations(broker, ("ward-1", 2), ("home-7", 1))
    hub = _hub(broker, tmp_path, database)
    try:
        published = publish_days(a, range(3)) + publish_days(b, range(3))
        drain(a, b)
        store = HubStore.open(database=database, data_dir=broker.data_dir)
        _assert_exactly_once(store, published)
        sessions = {str(r.id) for r in published if r.kind == "session"}
        assert store.count(kind="session") == len(sessions) > 0
        # station status arrives too (retained, not shared)
        from station.hub import queries

        online = wait_for(
            lambda: [s for s in queries.station_list(store) if s["online"]], what="stations online"
        )
        assert {s["station_id"] for s in online} == {"ward-1", "home-7"}
        a.stop_client()  # a clean disconnect: no will; the station says nothing more
        store.close()
    finally:
        hub.kill()
        b.stop_client()


def test_a_record_delivered_twice_is_stored_once(broker, tmp_path, database):
    (a,) = _stations(broker, ("ward-2", 1))
    hub = _hub(broker, tmp_path, database)
    try:
        published = publish_days(a, range(2))
        for rec in published:  # the same message again, twice: as a station re-sends
            topic = m.record_topic(station_id=a.station_id, kind=rec.kind)
            a.client.publish(topic, m.encode(rec), qos=1)
            a.client.publish(topic, m.encode(rec), qos=1)
        drain(a)
        time.sleep(1.0)  # let the duplicates that trail the acks land too
        store = HubStore.open(database=database, data_dir=broker.data_dir)
        _assert_exactly_once(store, published)
        store.close()
    finally:
        hub.kill()
        a.stop_client()


def test_hub_sigkill_and_restart_loses_and_doubles_nothing(broker, tmp_path, database):
    a, b = _stations(broker, ("ward-3", 1), ("home-9", 2))
    hub = _hub(broker, tmp_path, database, workers=2)
    try:
        published = publish_days(a, range(2)) + publish_days(b, range(2))
        drain(a, b)
        published += publish_days(a, range(2, 12)) + publish_days(b, range(2, 12))
        time.sleep(0.3)  # mid-ingest
        hub.kill()  # SIGKILL, the whole group (the web process and both workers)
        # sessions recorded while the hub is down
        published += publish_days(a, range(12, 14)) + publish_days(b, range(12, 14))
        time.sleep(1.0)
        hub.start()
        drain(a, b, timeout=90)
        store = HubStore.open(database=database, data_dir=broker.data_dir)
        _assert_exactly_once(store, published)
        store.close()
    finally:
        hub.kill()
        a.stop_client()
        b.stop_client()


def test_broker_killed_and_restarted_while_stations_record(broker, tmp_path):
    a, b = _stations(broker, ("ward-4", 1), ("home-4", 1))
    hub = _hub(broker, tmp_path, None)
    try:
        published = publish_days(a, range(3)) + publish_days(b, range(3))
        broker.stop(signal.SIGKILL)  # no chance to save what it held
        published += publish_days(a, range(3, 6)) + publish_days(b, range(3, 6))
        time.sleep(1.0)
        broker.start()
        drain(a, b, timeout=90)
        store = HubStore.open(database=None, data_dir=broker.data_dir)
        _assert_exactly_once(store, published)
        store.close()
    finally:
        hub.kill()
        a.stop_client()
        b.stop_client()
