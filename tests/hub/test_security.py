"""The broker config `station hub init` writes, attacked as a station would: another
station's topics, forged payloads, no password, a wrong one, no TLS."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.subscribeoptions import SubscribeOptions

from station.hub import messages as m
from station.hub.broker import Broker, connect, make_client
from station.hub.simstation import SimStation
from station.hub.store import HubStore
from tests.hub.hubkit import HubProcess, can_connect, wait_for
from tests.hub.stations import drain

pytestmark = pytest.mark.slow


def _client(broker: Broker, name: str) -> mqtt.Client:
    client = make_client(broker=broker, client_id=name)
    ready = threading.Event()
    client.on_connect = lambda *_a: ready.set()
    connect(client, broker=broker, persistent=False)
    client.loop_start()
    assert ready.wait(10), f"{name} could not connect"
    return client


def test_a_station_cannot_publish_or_read_under_another_id(broker, tmp_path):
    st_a = broker.add_station("st-a")
    st_b = broker.add_station("st-b")
    hub = HubProcess(broker_url=broker.url, data_dir=broker.data_dir)
    hub.start()
    a = SimStation(station_id="st-a", broker=st_a)
    a.start_client()
    assert a.connected.wait(10)
    try:
        # the hub is subscribed once a first genuine record has made the round trip
        a.record(m.JournalRecord(station_id="st-a", patient_id=a.patients[0], text="hello"))
        drain(a)
        victim = SimStation(station_id="st-b", broker=st_a).patients[0]
        forged = m.RatingRecord(
            station_id="st-b", patient_id=victim, session_id=m.new_id(), live=True, value=9
        )
        # 1. under st-b's topic with st-a's credentials: the broker's ACL drops it
        info = a.client.publish(
            m.record_topic(station_id="st-b", kind="rating"), m.encode(forged), qos=1
        )
        info.wait_for_publish(5)
        # 2. under its own topic, claiming to be st-b: the hub rejects the mismatch
        a.client.publish(m.record_topic(station_id="st-a", kind="rating"), m.encode(forged), qos=1)
        # 3. and a genuine record after them, which must arrive
        real = m.RatingRecord(
            station_id="st-a", patient_id=a.patients[0], session_id=m.new_id(), live=False, value=2
        )
        a.record(real)
        drain(a)
        store = HubStore.open(database=None, data_dir=broker.data_dir)
        ids = {rid for rid, _t in store.ids()}
        assert str(real.id) in ids
        assert str(forged.id) not in ids
        from sqlalchemy import select

        from station.hub.schema import rejects

        with store.engine.connect() as conn:
            errors = [r.error for r in conn.execute(select(rejects))]
        assert any("st-b" in e and "clinic/st-a/rec/rating" in e for e in errors), errors
        store.close()
        # 4. reading st-b's pushes: Mosquitto grants the subscription but the ACL never
        #    delivers; st-b itself (positive control) gets the same retained push
        hub_client = _client(broker.hub_broker(), "hub-test-pusher")
        push = m.ProtocolPush(station_id="st-b", protocol_id="tapping", document="x = 1")
        hub_client.publish(
            m.push_topic(station_id="st-b", kind="protocol"), m.encode(push), qos=1, retain=True
        ).wait_for_publish(5)
        seen: dict[str, list[str]] = {"spy": [], "st-b": []}
        for who, creds in (("spy", st_a), ("st-b", st_b)):
            c = _client(creds, f"reader-{who}")
            c.on_message = lambda _c, _u, msg, who=who: seen[who].append(msg.topic)
            c.subscribe([("clinic/st-b/push/#", SubscribeOptions(qos=1))])
        wait_for(lambda: seen["st-b"], timeout=10, what="st-b's own push")
        time.sleep(1.0)
        assert seen["spy"] == []
        hub_client.disconnect()
    finally:
        a.stop_client()
        hub.kill()


def test_no_password_a_wrong_one_or_no_tls_cannot_connect(broker):
    good = broker.add_station("st-c")
    assert can_connect(good)
    assert not can_connect(good.with_credentials(username="st-c", password="wrong"))
    assert not can_connect(
        Broker(host="localhost", port=broker.port, tls=True, ca_file=good.ca_file)
    )
    plain = Broker(
        host="localhost", port=broker.port, tls=False, username="st-c", password=good.password
    )
    assert not can_connect(plain)
    # a station credential is not the hub's: it cannot read every station's records
    received: list = []
    spy = _client(good, "spy-st-c")
    spy.on_message = lambda _c, _u, msg: received.append(msg.topic)
    spy.subscribe([("clinic/+/rec/#", SubscribeOptions(qos=1))])
    other = SimStation(station_id="st-d", broker=broker.add_station("st-d"))
    other.start_client()
    assert other.connected.wait(10)
    other.record(m.JournalRecord(station_id="st-d", patient_id=other.patients[0], text="x"))
    wait_for(lambda: other.client.is_connected(), what="st-d connected")
    time.sleep(1.0)
    assert not [t for t in received if "st-d" in t]
    spy.disconnect()
    other.stop_client()
