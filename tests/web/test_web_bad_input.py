"""Bad input an attacker sent (issue 13's list) answers 4xx naming the field; nothing is
coerced and nothing is half-written.

The inputs are the ones found on the network: a deeply nested JSON body (it reached a
RecursionError and a 500, also on ``/api/stop``), deeply nested TOML (500), a lone
surrogate in a journal entry, ``sessions_per_day = -1e400`` (500), ``2.7`` sessions (saved
as 2), ``true`` as an intensity (saved as 1 %).
"""

from __future__ import annotations

from io import BytesIO

import pytest

from station.errors import StationError
from tests.web.conftest import engine_state, use_quick_protocol, wait_for
from tests.web.test_web_plan_atomic import snapshot

NESTED_JSON = "[" * 5000 + "]" * 5000
NESTED_TOML = "a = " + "[" * 3000 + "]" * 3000


def test_a_deeply_nested_body_on_api_stop_still_stops(app, coord, engine) -> None:
    use_quick_protocol(coord, engine)
    r = app.test_client().post("/api/stop", data=NESTED_JSON, content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.get_json()["stopped"] is True
    assert engine_state(engine)["state"] != "running"


def test_a_deeply_nested_body_elsewhere_is_a_400_not_a_500(app, patient) -> None:
    r = patient.post("/api/journal", data=NESTED_JSON, content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("as_upload", [False, True])
def test_deeply_nested_toml_is_refused_with_what_is_wrong(app, clinician, as_upload) -> None:
    if as_upload:
        r = clinician.post(
            "/api/protocols",
            data={"file": (BytesIO(NESTED_TOML.encode()), "p.toml")},
            content_type="multipart/form-data",
        )
    else:
        r = clinician.post("/api/protocols", data=NESTED_TOML, content_type="application/toml")
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert "nested too deeply" in r.get_json()["error"]["message"]


def test_a_lone_surrogate_in_the_journal_is_refused_naming_the_field(app, patient) -> None:
    r = patient.post("/api/journal", data='{"text": "a\\ud800b"}', content_type="application/json")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "text"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("sessions_per_day", "-1e400"),  # -inf: reached int() and a 500
        ("sessions_per_day", "2.7"),  # was saved as 2
        ("sessions_per_day", "nan"),
        ("max_intensity_percent", "nan"),  # NaN compares false with every cap
        ("max_intensity_percent", "-1e400"),
    ],
)
def test_a_cap_that_is_not_a_number_the_clinician_meant_is_refused(
    app, coord, engine, clinician, field, raw
) -> None:
    use_quick_protocol(coord, engine)
    before = snapshot(coord)
    r = clinician.post("/clinician/caps", data={field: raw}, follow_redirects=True)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Caps not saved" in page and field in page, page[:3000]
    assert "Caps saved." not in page
    assert snapshot(coord) == before


@pytest.mark.parametrize("value", [True, 2.7, float("inf"), "3"])
def test_set_caps_coerces_nothing(coord, engine, value) -> None:
    use_quick_protocol(coord, engine)
    before = snapshot(coord)
    with pytest.raises(StationError) as err:
        coord.set_caps({"sessions_per_day": value}, by="test")
    assert "sessions_per_day" in str(err.value)
    assert snapshot(coord) == before


def test_a_whole_float_session_count_is_the_whole_number(coord, engine) -> None:
    use_quick_protocol(coord, engine)
    protocol_cap = coord.planner.protocol().caps.sessions_per_day
    coord.set_caps({"sessions_per_day": float(protocol_cap)}, by="test")
    assert wait_for(lambda: coord.store.plans.get() is not None)
    caps = coord.planner.effective(coord.planner.protocol()).caps
    assert caps.sessions_per_day == protocol_cap and isinstance(caps.sessions_per_day, int)


@pytest.mark.parametrize("value", [True, "50"])
def test_a_patient_intensity_is_a_number_not_a_boolean_or_text(app, patient, value) -> None:
    r = patient.post("/api/settings", json={"intensity_percent": value})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["field"] == "intensity_percent"


def test_a_huge_session_id_is_not_found(app, clinician) -> None:
    r = clinician.get("/api/sessions/" + "9" * 40)
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "session_id"


def test_invalid_utf8_is_refused_as_such(app, patient) -> None:
    r = patient.post("/api/journal", data=b'{"text": "a\xff"}', content_type="application/json")
    assert r.status_code == 400 and "not UTF-8" in r.get_json()["error"]["message"]
