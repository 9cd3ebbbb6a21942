"""Requests are validated by the same strict models that write the document: no silent
coercion, unknown fields refused, and every refusal in the API's one error shape (field,
value, allowed, message)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"intensity_percent": True}, "intensity_percent"),  # true is not 1 %
        ({"intensity_percent": "80"}, "intensity_percent"),
        ({"intensity_percent": 0}, "intensity_percent"),
        ({"reminder_times": "08:00"}, "reminder_times"),
        ({"reminder_times": ["8 am"]}, "reminder_times.0"),
        ({"volume": 3}, "volume"),
    ],
)
def test_settings_refuse_coercion_naming_the_field(patient, body, field) -> None:
    r = patient.post("/api/settings", json=body)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["field"] == field and err["code"] == "invalid" and err["message"]


def test_whole_numbers_stay_whole(patient) -> None:
    for body in ({"value": 2.7}, {"value": 2.0}, {"value": "2"}, {"value": 3, "pleasantness": 1.5}):
        r = patient.post("/api/ratings", json=body)
        assert r.status_code == 422, (body, r.get_json())
    for url in (
        "/api/sessions?limit=2.0",
        "/api/sessions?limit=+5",
        "/api/sessions?limit=1&limit=2",
    ):
        r = patient.get(url)
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "limit", url


def test_error_shape_names_field_value_and_allowed(patient) -> None:
    r = patient.post("/api/settings", json={"reminder_times": ["08:00", "8 am"]})
    err = r.get_json()["error"]
    assert r.status_code == 422
    assert (err["field"], err["value"]) == ("reminder_times.1", "8 am")
    assert "[01]" in err["allowed"]  # what one item allows: the HH:MM pattern
    r = patient.post("/api/ratings", json={"value": 3, "mood": "ok"})
    err = r.get_json()["error"]
    assert (r.status_code, err["field"], err["value"]) == (422, "mood", "ok")
    assert "value" in err["allowed"] and "mood" in err["message"]
    r = patient.post("/api/journal", json=["not", "an", "object"])
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]["message"]


def test_stop_never_refuses_a_body(app, engine) -> None:
    client = app.test_client()
    for body in (None, {"reason": 5}, ["x"], {"reason": "too_much", "extra": True}):
        r = client.post("/api/stop", json=body)
        assert r.status_code == 200, (body, r.get_json())
    assert client.post("/api/stop", data="not json", content_type="text/plain").status_code == 200
