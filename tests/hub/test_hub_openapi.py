"""The hub's OpenAPI document matches the hub's app, and every answer matches the document.

The document comes from the station's generator (``web.openapi.document``) run over the
hub's routes, whose ``@contract`` carries the models that validate the requests
(web/hub/models.py) and the answers (web/hub/responses.py). schemathesis, which knows
nothing of our code, reads it, generates valid and invalid requests for every operation
and checks each answer (status documented, content type documented, body valid against
the schema, invalid data refused with a 4xx, never a 5xx) for an anonymous caller and a
logged-in hub clinician, with a real broker behind the pushes. The generated ids rarely
name a station or patient the hub knows, so each route with a path id is also called with
the real ones and its answer checked the same way.
"""

from __future__ import annotations

import time

import pytest
import schemathesis

from station.hub import messages as m
from station.hub.simstation import SimStation
from station.hub.store import HubStore
from tests.web.test_web_openapi import CHECKS, EXAMPLES, _app_routes, _caller, _exercise
from web.hub import create_hub_app
from web.security import hash_password

pytestmark = pytest.mark.slow
CLINICIAN = ("dr-okafor", "correct horse battery staple")
BUDGET_S = 20.0
STATION = "ward-1"
PROTOCOL = 'id = "tiny"\nname = "tiny"\n'


@pytest.fixture
def hub(broker, tmp_path):
    store = HubStore.open(database=None, data_dir=tmp_path / "db")
    store.add_user(name=CLINICIAN[0], role="clinician", password_hash=hash_password(CLINICIAN[1]))
    sim = SimStation(station_id=STATION, broker=broker.hub_broker(), patients=2)
    store.ingest(
        batch=[r for d in range(3) for r in sim.day(d)],
        statuses=[m.Status(station_id=STATION, state="online")],
    )
    app = create_hub_app(
        {"DATA_DIR": str(tmp_path), "TESTING": True}, store=store, broker=broker.hub_broker()
    )
    try:
        yield app, store, sim
    finally:
        app.extensions["hub.pusher"].close()
        store.close()


def test_every_hub_route_is_documented_and_the_schemas_are_the_models(hub) -> None:
    from web.hub.models import PushIn

    app, _store, _sim = hub
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == "Clinic hub API"
    documented = {(meth, p) for p, ops in doc["paths"].items() for meth in ops}
    assert _app_routes(app) == documented
    schemas = doc["components"]["schemas"]
    push = doc["paths"]["/api/hub/stations/{station_id}/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == (
        PushIn.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    assert push["parameters"][0]["schema"]["pattern"] == m.STATION_ID
    assert {"202", "400", "401", "404", "422", "503"} <= set(push["responses"])
    # a session in an answer is the clinic's own message model
    assert schemas["SessionRecord"]["properties"]["state"]["enum"] == [
        "completed",
        "stopped",
        "aborted",
    ]
    export = doc["paths"]["/api/hub/patients/{patient_id}/export"]["get"]
    assert set(export["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/fhir+json",
    }
    assert doc["paths"]["/api/hub/stations"]["get"]["security"] == [{"cookie": []}]


def _known_ids(schema, sim, headers, cookies) -> list:
    """Calls of every route with a path id, for the station and a patient the hub has."""
    pid = str(sim.patients[0])
    cases = []
    for (method, path), body, query in [
        (("GET", "/api/hub/stations/{station_id}/sessions"), None, None),
        (("GET", "/api/hub/stations/{station_id}/pushes"), None, None),
        (
            ("POST", "/api/hub/stations/{station_id}/push"),
            {"kind": "protocol", "protocol_id": "tiny", "document": PROTOCOL},
            None,
        ),
        (
            ("POST", "/api/hub/stations/{station_id}/push"),
            {"kind": "plan", "protocol_id": "tiny", "patient_id": pid, "levels": {"main": 2}},
            None,
        ),
        (("GET", "/api/hub/patients/{patient_id}"), None, None),
        *[
            (("GET", "/api/hub/patients/{patient_id}/export"), None, {"format": f})
            for f in ("csv", "json", "fhir")
        ],
    ]:
        params = {"station_id": STATION} if "station_id" in path else {"patient_id": pid}
        kwargs = {"path_parameters": params, "query": query}
        if body is not None:
            kwargs |= {"body": body, "media_type": "application/json"}
        case = schema[path][method].Case(**kwargs)
        resp = case.call(headers=headers, cookies=cookies)
        case.validate_response(resp, checks=CHECKS, headers=headers)
        cases.append((method, path, resp.status_code))
    return cases


@pytest.mark.parametrize("caller", ["anonymous", "clinician"])
def test_every_hub_answer_conforms_to_the_document(hub, caller) -> None:
    app, _store, sim = hub
    who = {"anonymous": None, "clinician": CLINICIAN}[caller]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)
    headers, cookies = _caller(schema, who)
    deadline = time.monotonic() + BUDGET_S
    seen: dict[int, int] = {}
    operations = 0
    # logging out ends the caller's session: that operation goes last
    ops = sorted((r.ok() for r in schema.get_all_operations()), key=lambda o: "logout" in o.path)
    for op in ops:
        operations += 1
        for mode in EXAMPLES:
            _exercise(op, mode, headers, cookies, deadline, seen)
    headers, cookies = _caller(schema, who)
    known = _known_ids(schema, sim, headers, cookies)
    print(caller, operations, sorted(seen.items()), known)
    assert operations >= 10
    assert sum(seen.values()) >= 60, seen
    assert not any(code >= 500 for code in seen), seen
    if who is None:
        # a POST without a CSRF token is refused before the login is asked for (400)
        assert seen.get(401) and {c for _m, _p, c in known} == {400, 401}, (seen, known)
    else:  # behind the login: real data answered, pushes accepted, bad input refused
        assert seen.get(200) and seen.get(422), seen
        assert [code for _m, _p, code in known] == [200, 200, 202, 202, 200, 200, 200, 200]
