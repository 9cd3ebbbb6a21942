"""Outcome measures on the clinician's schedule (issue 16): schedule -> due -> entries ->
each scheduled measure as a trend in the report's data and on the printed report.

Expected values come from the clinical use, not the code: a weekly VAS given today is not
due again until 7 days have passed, and is due on day 8; every scheduled measure has its
own trend on the report whether or not anything was recorded yet; the body map's area is
the drawn 4 x 5 cm rectangle's 20 cm^2.
"""

from __future__ import annotations

from web import shaping

WEEK = 7 * 86400
HAND_CM = 18.0
K = 250.0 / HAND_CM  # outline units per cm: the hand outline's 250-unit landmark


def _rect_cm(w: float, h: float) -> list[list[float]]:
    return [[60, 140], [60 + w * K, 140], [60 + w * K, 140 + h * K], [60, 140 + h * K]]


def _due(client) -> dict[str, bool]:
    r = client.get("/api/outcomes")
    assert r.status_code == 200, r.get_json()
    return {d["measure"]: d["due"] for d in r.get_json()["schedule"]}


def test_schedule_due_entries_and_a_trend_per_measure(app, coord, clinician, patient) -> None:
    r = clinician.post(
        "/api/outcomes/schedule",
        json={"vas": 7, "zone_area": 14, "detection_threshold": 28, "discrimination": 7},
    )
    assert r.status_code == 200, r.get_json()
    assert _due(patient) == {
        "vas": True,
        "zone_area": True,
        "detection_threshold": True,
        "discrimination": True,
    }  # never recorded: due now

    r = patient.post("/api/outcomes/vas", json={"rest": 20, "use": 45, "touch": 70})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["by"] == "patient:pat"
    r = patient.post("/api/bodymap", json={"outline": "hand-left", "shapes": [_rect_cm(4, 5)],
                                           "length_cm": HAND_CM})  # fmt: skip
    assert r.status_code == 201, r.get_json()
    assert abs(r.get_json()["area_cm2"] - 20.0) <= 0.05 * 20.0
    due = _due(patient)
    assert (due["vas"], due["zone_area"], due["detection_threshold"]) == (False, False, True)

    assert patient.post("/api/sim/clock", json={"advance_s": WEEK - 3600}).status_code == 200
    assert _due(patient)["vas"] is False  # 6 days 23 h: not yet
    assert patient.post("/api/sim/clock", json={"advance_s": 2 * 3600}).status_code == 200
    assert _due(patient)["vas"] is True  # a week on: due again
    assert patient.post("/api/outcomes/vas", json={"rest": 10, "touch": 50}).status_code == 201
    assert patient.post("/api/outcomes/flare", json={"note": "cold snap"}).status_code == 201
    r = patient.post(
        "/api/outcomes/medication", json={"medication": "gabapentin", "dose": "300 mg"}
    )
    assert r.status_code == 201, r.get_json()
    coord.store.thresholds.add(actuator="hand", kind="detection", value=0.2, method="staircase",
                               trials=20, by="clinician:carla")  # fmt: skip

    report = shaping.report(coord)["outcomes"]
    vas = report["trends"]["vas"]["series"]
    assert [p[1] for p in vas["at rest"]] == [20, 10]
    assert [p[1] for p in vas["on touch"]] == [70, 50]
    assert [p[1] for p in vas["in use"]] == [45]
    assert [p[1] for p in report["trends"]["zone_area"]["series"]["Left hand, palm side"]] == [20.0]
    assert report["trends"]["detection_threshold"]["series"]["hand"][0][1] == 20.0  # % of full
    assert [f["note"] for f in report["flares"]] == ["cold snap"]
    assert report["medication"][0]["medication"] == "gabapentin"
    assert {d["measure"] for d in report["schedule"]} == set(report["trends"])

    page = clinician.get("/clinician/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for measure in ("vas", "zone_area", "detection_threshold", "discrimination"):
        assert f'class="chart outcome-chart" data-measure="{measure}"' in html, measure
    assert "cold snap" in html and "gabapentin" in html

    exported = clinician.get("/clinician/export.json").get_json()
    assert [e["kind"] for e in exported["outcomes"]["entries"]] == ["vas", "vas", "flare",
                                                                    "medication"]  # fmt: skip
    assert len(exported["outcomes"]["body_maps"]) == 1


def test_bad_input_is_refused_naming_the_field(app, clinician, patient) -> None:
    cases = [
        (patient, "/api/outcomes/vas", {"rest": 101}, "rest"),
        (patient, "/api/outcomes/vas", {"rest": 5.5}, "rest"),
        (patient, "/api/outcomes/vas", {}, "rest"),  # none of the three given
        (patient, "/api/outcomes/medication", {"medication": " "}, "medication"),
        (clinician, "/api/outcomes/schedule", {"vas": 0}, "vas"),
        (clinician, "/api/outcomes/schedule", {"mood": 7}, "mood"),
        (
            patient,
            "/api/bodymap",
            {"outline": "foot", "shapes": [_rect_cm(1, 1)], "length_cm": 18},
            "outline",
        ),
        (
            patient,
            "/api/bodymap",
            {"outline": "hand-left", "shapes": [[[10, 10], [500, 10], [10, 40]]], "length_cm": 18},
            "shapes[0][1]",
        ),
        (
            patient,
            "/api/bodymap",
            {"outline": "hand-left", "shapes": [_rect_cm(1, 1)], "length_cm": 150},
            "length_cm",
        ),
        (
            patient,
            "/api/bodymap",
            {"outline": "hand-left", "shapes": [[[1, 1], [2, 2]]], "length_cm": 18},
            "shapes.0",
        ),
    ]
    for client, url, body, field in cases:
        r = client.post(url, json=body)
        assert r.status_code == 422, (url, body, r.status_code)
        err = r.get_json()["error"]
        assert err["field"] == field, (url, body, err)
        assert err["message"], err
    assert patient.post("/api/outcomes/schedule", json={"vas": 7}).status_code == 403
    assert app.test_client().get("/api/bodymap").status_code == 401
    assert app.test_client().get("/api/outcomes").status_code == 401


def test_pages_render_for_the_patient(patient) -> None:
    assert patient.post("/api/outcomes/vas", json={"touch": 40}).status_code == 201
    for url in ("/outcomes", "/bodymap"):
        r = patient.get(url)
        assert r.status_code == 200, url
    assert "on touch 40" in patient.get("/outcomes").get_data(as_text=True)
