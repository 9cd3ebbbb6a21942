"""Real stations (their SQLite store, the outbox filled by the real repositories, the real
sync agent) report to a real hub (`station hub run`) through a real Mosquitto (TLS, ACL,
one credential per station). Issue 15's "done when": sessions recorded on two stations
are at the hub exactly once, through a hub SIGKILL (a session recorded meanwhile) and a
broker restart; a pushed protocol is applied and a bad one refused with its reason at the
hub. Expected ids come from the stations' own records, never from the hub's code."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from station.hub import messages as m
from station.hub.pusher import Pusher
from station.hub.schema import records
from station.hub.store import HubStore
from station.protocols import library
from station.storage import Store
from station.storage.outbox_queue import OutboxQueue
from station.sync.agent import SyncAgent
from station.sync.pushes import PushApplier
from tests.hub.hubkit import HubProcess, wait_for
from tests.sync.records import play_session

pytestmark = pytest.mark.slow


class Station:
    def __init__(self, broker, root: Path, station_id: str):
        self.station_id = station_id
        self.data_dir = root / station_id
        self.store = Store.open(self.data_dir)
        library.install_builtins(self.data_dir)
        self.creds = broker.add_station(station_id)
        self.agent: SyncAgent | None = None

    def start(self) -> None:
        applier = PushApplier(data_dir=self.data_dir, store=self.store)
        self.agent = SyncAgent(store=self.store, station_id=self.station_id, broker=self.creds,
                               applier=applier, resend_after_s=3.0, poll_s=0.1)  # fmt: skip
        self.agent.start()
        assert self.agent.connected.wait(15), f"{self.station_id} could not connect"

    def session_ids(self) -> list[str]:
        with self.store.db.read() as conn:
            return [r[0] for r in conn.execute(
                "SELECT global_id FROM sessions WHERE started_at IS NOT NULL")]  # fmt: skip

    def all_ids(self) -> list[str]:
        return [r["global_id"] for r in OutboxQueue(self.store.db).rows() if not r["error"]]

    def pending(self) -> int:
        return OutboxQueue(self.store.db).counts()["pending"]

    def close(self) -> None:
        if self.agent is not None:
            self.agent.close()
        self.store.close()


@pytest.fixture
def stations(broker, tmp_path):
    made: list[Station] = []
    yield lambda sid: made.append(Station(broker, tmp_path / "stations", sid)) or made[-1]
    for s in made:
        s.close()


def _hub(broker) -> HubProcess:
    hub = HubProcess(broker_url=broker.url, data_dir=broker.data_dir)
    hub.start()
    return hub


def _drained(*stations: Station, timeout: float = 90) -> None:
    wait_for(lambda: all(s.pending() == 0 for s in stations), timeout=timeout,
             what="the hub's Stored for every outbox row")  # fmt: skip


def _at_hub(hub_store: HubStore, kind: str | None = None) -> Counter[str]:
    q = sa.select(records.c.id)
    if kind:
        q = q.where(records.c.kind == kind)
    with hub_store.engine.connect() as conn:
        return Counter(str(r[0]) for r in conn.execute(q))


def test_sessions_reach_the_hub_exactly_once_through_hub_kill_and_broker_restart(broker, stations):
    a, b = stations("ward-1"), stations("home-2")
    second = a.store.patients.add("Second patient")  # a station with two patients
    play_session(a.store.for_patient(1))  # recorded before any hub or agent is running
    hub = _hub(broker)
    try:
        a.start()
        b.start()
        play_session(a.store.for_patient(second.id), value=5)
        play_session(b.store, stopped_by_fault=True)
        _drained(a, b)
        hub_store = HubStore.open(database=None, data_dir=broker.data_dir)
        want = Counter(a.session_ids() + b.session_ids())
        assert len(want) == 3 and _at_hub(hub_store, "session") == want

        hub.kill()  # SIGKILL, its whole process group
        play_session(a.store.for_patient(second.id))  # recorded while the hub is down
        play_session(b.store)
        hub.start()
        _drained(a, b)
        want = Counter(a.session_ids() + b.session_ids())
        assert len(want) == 5 and _at_hub(hub_store, "session") == want

        broker.stop(signal.SIGKILL)  # the broker too: nothing saved since its last autosave
        play_session(a.store.for_patient(1))
        broker.start()
        _drained(a, b)
        want_all = Counter(a.all_ids() + b.all_ids())
        assert _at_hub(hub_store, "session") == Counter(a.session_ids() + b.session_ids())
        assert _at_hub(hub_store) == want_all  # every record of every kind, once
        # no name reaches the hub: the patients are their pseudonymous ids
        with hub_store.engine.connect() as conn:
            payloads = " ".join(str(r[0]) for r in conn.execute(sa.select(records.c.payload)))
        assert "Second patient" not in payloads and "Patient 1" not in payloads
        assert second.global_id in payloads
        hub_store.close()
    finally:
        hub.kill()


BAD = """id = "tapping-clinic"
name = "Bad"
version = "1.0"
[caps]
max_intensity_percent = 250
"""


def test_pushed_protocol_applied_and_bad_one_refused_with_reason_at_hub(broker, stations):
    a = stations("ward-5")
    hub = _hub(broker)
    hub_store = HubStore.open(database=None, data_dir=broker.data_dir)
    pusher = Pusher(broker=broker.hub_broker(), store=hub_store)
    try:
        a.start()
        good_text = (Path(library.__file__).parent / "tapping.toml").read_text()
        good_text = good_text.replace('id = "tapping"', 'id = "tapping-clinic"', 1)
        good = m.ProtocolPush(station_id="ward-5", protocol_id="tapping-clinic",
                              document=good_text, by="dr-lee")  # fmt: skip
        pusher.push(push=good, by="dr-lee")
        applied = wait_for(lambda: [p for p in hub_store.pushes_of(station_id="ward-5")
                                    if p["id"] == str(good.id) and p["outcome"]],
                           what="the station's answer to the good push")  # fmt: skip
        assert applied[0]["outcome"] == "applied", applied[0]["reason"]
        assert library.get_protocol(a.data_dir, "tapping-clinic").version == "1.0"

        bad = m.ProtocolPush(station_id="ward-5", protocol_id="tapping-clinic",
                             document=BAD.replace('"1.0"', '"2.0"'), by="dr-lee")  # fmt: skip
        pusher.push(push=bad, by="dr-lee")
        refused = wait_for(lambda: [p for p in hub_store.pushes_of(station_id="ward-5")
                                    if p["id"] == str(bad.id) and p["outcome"]],
                           what="the station's answer to the bad push")  # fmt: skip
        assert refused[0]["outcome"] == "refused"
        assert "max_intensity_percent" in refused[0]["reason"]  # the field, named
        assert [
            p.version for p in library.list_protocols(a.data_dir) if p.id == "tapping-clinic"
        ] == ["1.0"]  # fmt: skip  (refused as a whole)

        patient = a.store.patients.get(1)
        good_plan = m.PlanPush(station_id="ward-5", patient_id=patient.global_id,
                               protocol_id="tapping-clinic", levels={"tapping": 1})  # fmt: skip
        pusher.push(push=good_plan, by="dr-lee")
        applied = wait_for(lambda: [p for p in hub_store.pushes_of(station_id="ward-5")
                                    if p["id"] == str(good_plan.id) and p["outcome"]],
                           what="the answer to the good plan push")  # fmt: skip
        assert applied[0]["outcome"] == "applied", applied[0]["reason"]
        stored_plan = a.store.for_patient(1).plans.get()
        assert (stored_plan.protocol_id, stored_plan.levels) == ("tapping-clinic", {"tapping": 1})

        plan = m.PlanPush(station_id="ward-5", patient_id=patient.global_id,
                          protocol_id="tapping-clinic", levels={"nope": 0})  # fmt: skip
        pusher.push(push=plan, by="dr-lee")
        refused = wait_for(lambda: [p for p in hub_store.pushes_of(station_id="ward-5")
                                    if p["id"] == str(plan.id) and p["outcome"]],
                           what="the answer to the plan push")  # fmt: skip
        assert refused[0]["outcome"] == "refused" and "nope" in refused[0]["reason"]
    finally:
        pusher.close()
        hub_store.close()
        hub.kill()
