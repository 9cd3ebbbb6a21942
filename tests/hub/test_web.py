"""The hub's page and API with a real broker: login and CSRF as on the station, stations
and sessions with their global ids, a protocol pushed to a (simulated) station applied, a
bad one refused with the station's reason shown, and bad requests answered 4xx naming the
field."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.hub import messages as m
from station.hub.ingest import IngestWorker
from station.hub.simstation import SimStation
from station.hub.store import HubStore
from tests.hub.hubkit import wait_for
from tests.hub.stations import drain, publish_days
from web.hub import create_hub_app
from web.security import hash_password

pytestmark = pytest.mark.slow
PROTOCOLS = Path(__file__).resolve().parents[2] / "station" / "protocols"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def hub(broker, tmp_path):
    import threading

    store = HubStore.open(database=None, data_dir=broker.data_dir)
    store.add_user(name="dr-lee", role="clinician", password_hash=hash_password(PASSWORD))
    worker = IngestWorker(broker=broker.hub_broker(), store=store, client_id="hub-t")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    app = create_hub_app(
        {"DATA_DIR": str(broker.data_dir), "TESTING": True}, store=store, broker=broker.hub_broker()
    )
    station = SimStation(station_id="ward-9", broker=broker.add_station("ward-9"), patients=1)
    station.start_client()
    assert station.connected.wait(10)
    try:
        yield app, store, station
    finally:
        station.stop_client()
        app.extensions["hub.pusher"].close()
        stop.set()
        thread.join(10)
        store.close()


def _login(client) -> dict[str, str]:
    resp = client.post("/api/login", json={"name": "dr-lee", "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return {"X-CSRFToken": resp.get_json()["csrf_token"]}


def test_api_needs_login_and_lists_stations_and_sessions(hub):
    app, _store, station = hub
    published = publish_days(station, range(2))
    drain(station)
    client = app.test_client()
    assert client.get("/api/hub/stations").status_code == 401
    assert client.post("/api/login", json={"name": "dr-lee", "password": "nope"}).status_code == 401
    _login(client)
    stations = client.get("/api/hub/stations").get_json()["stations"]
    assert [s["station_id"] for s in stations] == ["ward-9"]
    assert stations[0]["online"] is True and stations[0]["last_seen"]
    sessions = client.get("/api/hub/stations/ward-9/sessions").get_json()["sessions"]
    want = {str(r.id) for r in published if r.kind == "session"}
    assert {s["id"] for s in sessions} == want
    assert client.get("/api/hub/stations/nowhere/sessions").status_code == 404
    patient = str(station.patients[0])
    detail = client.get(f"/api/hub/patients/{patient}").get_json()
    assert detail["adherence"]["days"] == 2
    for page in ("/", "/stations/ward-9", f"/patients/{patient}"):
        assert client.get(page).status_code == 200, page


def test_push_applied_and_refused_with_reason_shown(hub):
    app, _store, station = hub
    publish_days(station, range(1))
    drain(station)
    client = app.test_client()
    csrf = _login(client)
    good = (PROTOCOLS / "tapping.toml").read_text()
    resp = client.post(
        "/api/hub/stations/ward-9/push",
        headers=csrf,
        json={"kind": "protocol", "protocol_id": "tapping", "document": good},
    )
    assert resp.status_code == 202, resp.get_json()
    good_id = resp.get_json()["push_id"]
    # the clinician's cap above what the station's validation allows (0-100 %)
    bad = good.replace("max_intensity_percent = 60", "max_intensity_percent = 250")
    assert bad != good
    resp = client.post(
        "/api/hub/stations/ward-9/push",
        headers=csrf,
        json={"kind": "protocol", "protocol_id": "tapping", "document": bad},
    )
    bad_id = resp.get_json()["push_id"]

    def answers():
        pushes = {
            p["id"]: p for p in client.get("/api/hub/stations/ward-9/pushes").get_json()["pushes"]
        }
        return pushes if all(pushes[i]["outcome"] for i in (good_id, bad_id)) else None

    # the simulated station receives only the latest retained push if it lags; give each
    # push its own round: the first answer must be there before checking the second
    pushes = wait_for(answers, timeout=30, what="both pushes answered")
    assert pushes[good_id]["outcome"] == "applied"
    assert pushes[bad_id]["outcome"] == "refused"
    assert "max_intensity_percent" in pushes[bad_id]["reason"]
    page = client.get("/stations/ward-9").get_data(as_text=True)
    assert "refused" in page and "max_intensity_percent" in page


def test_bad_requests_are_4xx_naming_the_field(hub):
    app, _store, station = hub
    station.record(m.JournalRecord(station_id="ward-9", patient_id=station.patients[0], text="x"))
    drain(station)
    client = app.test_client()
    csrf = _login(client)
    resp = client.post("/api/hub/stations/ward-9/push", json={"kind": "plan"})
    assert resp.status_code == 400  # no CSRF token
    resp = client.post(
        "/api/hub/stations/ward-9/push",
        headers=csrf,
        json={"kind": "firmware", "protocol_id": "tapping"},
    )
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["field"] == "kind" and err["value"] == "firmware"
    resp = client.post(
        "/api/hub/stations/ward-9/push",
        headers=csrf,
        json={"kind": "plan", "protocol_id": "Tapping!"},
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["field"] == "protocol_id"
    resp = client.get(f"/api/hub/patients/{station.patients[0]}/export?format=pdf")
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "format"
