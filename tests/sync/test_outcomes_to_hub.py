"""Outcome measures travel from a real station (its store and outbox, the real sync agent)
through a real Mosquitto (TLS, ACL, the station's own credential) to a hub ingest worker,
which stores each once; the clinician's API shows them as trends and the FHIR export
carries the VAS as LOINC 38214-3 Observations in millimetres, validated by fhir.resources.
Expected values are the ones the station recorded."""

from __future__ import annotations

import threading

import pytest
from fhir.resources.R4B.bundle import Bundle

from station.hub import export
from station.hub.ingest import IngestWorker
from station.hub.store import HubStore
from tests.hub.hubkit import wait_for
from tests.sync.test_outcomes_outbox import SQUARE, discriminated_session
from tests.sync.test_station_to_hub import Station
from web.hub import create_hub_app
from web.security import hash_password

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"


@pytest.fixture
def hub(broker, tmp_path):
    store = HubStore.open(database=None, data_dir=tmp_path / "hub")
    worker = IngestWorker(broker=broker.hub_broker(), store=store, client_id="hub-outcomes")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield store
    finally:
        stop.set()
        thread.join(10)
        store.close()


def test_outcomes_reach_the_hub_once_as_trends_and_fhir(broker, hub, tmp_path):
    station = Station(broker, tmp_path / "stations", "ward-2")
    try:
        patient = station.store.patients.get(station.store.patient_id).global_id
        station.store.outcomes.add_vas(rest=62, use=48, touch=80)
        station.store.outcomes.add_flare(note="flare after gardening")
        station.store.bodymaps.add(outline_id="hand-left", shapes=SQUARE, length_cm=20.0)
        discriminated_session(station.store, [True, False, None, True])
        station.store.outcomes.add_vas(rest=35)
        station.start()
        wait_for(lambda: station.pending() == 0, timeout=60, what="the hub's Stored")
    finally:
        station.close()
    assert hub.count(kind="outcome") == 5

    app = create_hub_app({"DATA_DIR": str(tmp_path), "TESTING": True}, store=hub)
    hub.add_user(name="dr-ng", role="clinician", password_hash=hash_password(PASSWORD))
    client = app.test_client()
    assert (
        client.post("/api/login", json={"name": "dr-ng", "password": PASSWORD}).status_code == 200
    )
    got = client.get(f"/api/hub/patients/{patient}").get_json()["outcomes"]
    assert [(v["rest"], v["use"], v["touch"]) for v in got["vas"]] == [
        (62, 48, 80),
        (35, None, None),
    ]
    assert [f["note"] for f in got["flares"]] == ["flare after gardening"]
    assert [z["outline"] for z in got["zone_area"]] == ["hand-left"]
    assert got["zone_area"][0]["area_cm2"] == pytest.approx(16.0, rel=0.01)
    [score] = got["discrimination"]
    assert (score["trials"], score["correct"], score["missed"]) == (4, 2, 1)
    assert score["accuracy_percent"] == 50

    bundle = Bundle.model_validate_json(export.render(store=hub, patient_id=patient, fmt="fhir"))
    vas = [e.resource for e in bundle.entry if e.resource.code.coding[0].code == "38214-3"]
    assert sorted(o.valueQuantity.value for o in vas) == [35, 48, 62, 80]
    for obs in vas:
        q = obs.valueQuantity
        assert (q.unit, q.system, q.code) == ("mm", "http://unitsofmeasure.org", "mm")
        assert obs.subject.reference == f"Patient/{patient}" and obs.status == "final"
    assert len({o.id for o in vas}) == 4
    # no made-up codes: flare, zone area and discrimination are not in the FHIR bundle
    assert {e.resource.code.coding[0].code for e in bundle.entry} <= {"38214-3", "72514-3"}
