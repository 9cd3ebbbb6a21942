"""Two patients on one station never see each other's data (issue 14), through the API
and the pages, against a real Store and the real engine on the simulator.

What is expected comes from the clinic's rule, not from the code: each patient owns their
plan, settings, sessions, ratings, journal, ranking, thresholds, history and report and
sees only their own; guessing another patient's session id answers 404 (not 403, which
would confirm it exists); the clinician sees both; the panel's start runs the patient the
clinician chose."""

from __future__ import annotations

import json

from tests.web.conftest import (
    CLIN,
    PAT,
    add_users,
    engine_state,
    logged_in,
    use_quick_protocol,
)

BEA = ("bea", "bea-patient-pass-7")
A_NOTE, B_NOTE = "Patient A: the wrist tingled", "Patient B: calm evening"


def _session(client, *, rating: int, note: str) -> int:
    r = client.post("/api/start")
    assert r.status_code == 200, r.get_json()
    sid = r.get_json()["session_id"]
    assert client.post("/api/ratings", json={"value": rating}).status_code in (201, 202)
    assert client.post("/api/journal", json={"text": note}).status_code == 201
    assert client.post("/api/stop", json={"reason": "user"}).status_code == 200
    return sid


def _dump(client) -> str:
    """Everything a logged-in account can read about "its" patient, as one text."""
    parts = []
    for url in ("/api/sessions", "/api/history", "/api/settings", "/api/journal",
                "/api/plan/ranking", "/api/thresholds", "/api/status"):  # fmt: skip
        r = client.get(url)
        if r.status_code == 200:
            parts.append(json.dumps(r.get_json()))
    for url in ("/", "/history", "/settings", "/journal"):
        r = client.get(url)
        assert r.status_code == 200, url
        parts.append(r.get_data(as_text=True))
    return "\n".join(parts)


def test_two_patients_on_one_station(app, coord, engine) -> None:
    add_users(coord)  # the clinician, and "pat": the account of the station's Patient 1
    clin = logged_in(app, CLIN)
    use_quick_protocol(coord, engine)
    pat = logged_in(app, PAT)
    sid_a = _session(pat, rating=2, note=A_NOTE)

    # the clinician adds patient B, an account for B, chooses B and assigns B's plan
    r = clin.post("/api/patients", json={"display_name": "Bea", "notes": "hand pad"})
    assert r.status_code == 201, r.get_json()
    bid = r.get_json()["id"]
    r = clin.post(f"/api/patients/{bid}/accounts", json={"name": BEA[0], "password": BEA[1]})
    assert r.status_code == 201, r.get_json()
    r = clin.post(f"/api/patients/{bid}/activate")
    assert r.status_code == 200 and r.get_json()["active"] is True, r.get_json()
    use_quick_protocol(coord, engine, "quick/1")  # B's plan, armed for B
    bea = logged_in(app, BEA)
    # the panel's start runs the patient whose session is armed: B
    armed = engine_state(engine)["session_id"]
    assert armed != sid_a
    sid_b = _session(bea, rating=6, note=B_NOTE)
    assert sid_b == armed

    seen_a, seen_b = _dump(pat), _dump(bea)
    assert A_NOTE in seen_a and B_NOTE not in seen_a
    assert B_NOTE in seen_b and A_NOTE not in seen_b
    assert [s["id"] for s in pat.get("/api/sessions").get_json()["sessions"]] == [sid_a]
    assert [s["id"] for s in bea.get("/api/sessions").get_json()["sessions"]] == [sid_b]
    assert pat.get("/api/settings").get_json() != bea.get("/api/settings").get_json()
    # guessing the other's session: 404, exactly like an id that does not exist
    for client, other in ((pat, sid_b), (bea, sid_a)):
        r = client.get(f"/api/sessions/{other}")
        assert r.status_code == 404
        assert r.get_json()["error"]["message"].startswith(f"no session with id {other}")
        assert client.get(f"/sessions/{other}").status_code == 404
    # a patient account cannot read another patient record, nor choose a patient
    assert bea.get("/api/patients/1").status_code == 404
    assert bea.get(f"/api/patients/{bid}").status_code == 200
    assert bea.post("/api/patients/1/activate").status_code == 403
    assert bea.get("/api/patients").status_code == 403
    # A's page, while the station works for B, says so and shows nothing of B's session
    st = pat.get("/api/status").get_json()
    assert st["session"] is None and st["next"] is None and "another patient" in st["state_text"]
    assert pat.post("/api/start").status_code == 409
    assert pat.post("/api/ratings", json={"value": 1}).status_code == 409

    # the clinician sees both, with their last sessions
    listed = {p["id"]: p for p in clin.get("/api/patients").get_json()["patients"]}
    assert listed[1]["last_session"]["id"] == sid_a and listed[bid]["last_session"]["id"] == sid_b
    assert listed[bid]["active"] and not listed[1]["active"]
    assert clin.get("/clinician/patients").status_code == 200
    # choosing A again: whatever the engine holds armed now is A's (A's limits may
    # allow nothing yet, right after A's session), never B's
    assert clin.post("/api/patients/1/activate").status_code == 200
    st, current = engine_state(engine), coord.store.sessions.current()
    if st["state"] == "armed":
        assert current is not None and st["session_id"] == current.id
    assert coord.store.for_patient(bid).sessions.current() is None
    assert [s["id"] for s in clin.get("/api/sessions").get_json()["sessions"]] == [sid_a]
