"""The patient's ranking (issue 12): ``POST``/``GET /api/plan/ranking`` and the pages.

Expected behaviour is the clinical procedure's (Barber / Downey Hand Center, the
built-in ``textures`` protocol's header): the patient orders the items from least to most
irritating at intake, treatment starts with the first (least irritating) item, and the
clinician may re-rank at a later visit while the earlier rankings stay on record. Against
the real engine on the simulator (``tests/web/conftest.py``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from station.app.coordinator import Coordinator
from tests.web.conftest import wait_for

# The items of the built-in protocol file (station/protocols/textures.toml), in an order
# that differs from the file's at the top: the patient finds silk least irritating.
TEXTURES = ["silk", "feather", "cotton-ball", "velvet", "terry", "corduroy", "towel", "wool",
            "velcro"]  # fmt: skip
IMMERSION = ["rice", "cotton-wool", "lentils", "beans", "macaroni", "popcorn"]


def snapshot(coord: Coordinator) -> tuple[Any, ...]:
    plan = coord.store.plans.get()
    assert plan is not None
    return (plan.protocol_id, dict(plan.levels), plan.ranking, plan.settings, plan.updated_at,
            coord.store.rankings.history())  # fmt: skip


def old_textures_plan(coord: Coordinator) -> None:
    """The textures plan without a ranking (as the patient meets it at intake: written
    before rankings were recorded, so nothing is armed until the patient ranks)."""
    coord.store.plans.set("textures", "1.0", levels={"textures": 0, "immersion": 0},
                          reason="the clinician's plan, ranking to come")  # fmt: skip
    coord.arming.arm_next(force=True)


def next_on(client: Any, ladder: str, level: str | None = None) -> dict[str, Any] | None:
    nxt = client.get("/api/status").get_json()["next"]
    ok = nxt and nxt.get("ladder") == ladder and (level is None or nxt["level"] == level)
    return nxt if ok else None


def test_anonymous_gets_401(app) -> None:
    anon = app.test_client()
    assert anon.get("/api/plan/ranking").status_code == 401
    r = anon.post("/api/plan/ranking", json={"ladder": "textures", "order": TEXTURES})
    assert r.status_code in (400, 401)  # no CSRF token / no login: never recorded
    assert r.status_code == 401 or "CSRF" in r.get_json()["error"]["message"]


def test_clinician_ranks_then_assigns_and_the_first_session_is_the_least_irritating(
    app, coord, clinician, patient, engine
) -> None:
    # Recorded before the protocol is assigned (a ranked protocol needs it to be assigned).
    for ladder, order in (("textures", TEXTURES), ("immersion", IMMERSION)):
        r = clinician.post("/api/plan/ranking", json={"ladder": ladder, "order": order})
        assert r.status_code == 201, r.get_json()
        body = r.get_json()
        assert body["recorded"]["context"] == "intake" and body["recorded"]["order"] == order
        assert body["recorded"]["by"] == "clinician:carla"
        assert [it["id"] for it in body["ladder"]["items"]] == order
    r = clinician.post("/api/plan", json={"protocol": "textures", "level": "textures/0"})
    assert r.status_code == 200, r.get_json()
    # (waits out the page's short cache of the next session)
    nxt = wait_for(lambda: next_on(patient, "textures"))
    # Level 0 of the ranked ladder is the patient's least irritating item, not the file's
    # first (feather).
    assert (nxt["ladder"], nxt["level"], nxt["level_count"]) == ("textures", "Silk", 9)
    current = wait_for(lambda: coord.store.sessions.current())
    wait_for(lambda: coord.store.sessions.current().level_name == "Silk")
    program = coord.planner.program_of(current.id)
    assert [s.kind for s in program.steps][:1] == ["manual"]
    assert "silk" in program.steps[0].label.lower()
    view = patient.get("/api/plan/ranking").get_json()
    by = {x["ladder"]: x for x in view["ladders"]}
    assert set(by) == {"textures", "immersion"} and all(x["in_plan"] for x in by.values())
    assert by["textures"]["order"] == TEXTURES and not by["textures"]["needs_ranking"]
    assert by["textures"]["items"][0] == {
        "id": "silk",
        "name": "Silk",
        "description": by["textures"]["items"][0]["description"],
    }
    assert "silk" in by["textures"]["items"][0]["description"].lower()


def test_patient_ranks_at_intake_only_and_a_re_rank_is_403_leaving_everything(
    app, coord, clinician, patient
) -> None:
    old_textures_plan(coord)
    page = patient.get("/").get_data(as_text=True)
    # The intake list: every item with name and description and big up/down buttons.
    assert 'id="ranking-textures"' in page and 'id="ranking-immersion"' in page
    assert page.count('class="rank-up"') == 9 + 6 and "Terry cloth" in page
    assert "js/ranking.js" in page and not re.search(r"<script>(?!</script>)", page)
    r = patient.post("/api/plan/ranking", json={"ladder": "textures", "order": TEXTURES})
    assert r.status_code == 201 and r.get_json()["recorded"]["context"] == "intake"
    before = snapshot(coord)
    r = patient.post("/api/plan/ranking", json={"ladder": "textures", "order": TEXTURES[::-1]})
    assert r.status_code == 403, r.get_json()
    err = r.get_json()["error"]
    assert err["field"] == "ladder" and "clinician" in err["message"] and "visit" in err["message"]
    assert snapshot(coord) == before
    # the other ladder is still at intake: the patient may rank it, and then the plan runs
    r = patient.post("/api/plan/ranking", json={"ladder": "immersion", "order": IMMERSION})
    assert r.status_code == 201, r.get_json()
    nxt = wait_for(lambda: next_on(patient, "textures"))
    assert nxt.get("error") is None and nxt["level"] == "Silk" and nxt["allowed"], nxt
    page = patient.get("/").get_data(as_text=True)
    assert 'id="ranking-textures"' not in page  # ranked: no intake list any more


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"ladder": "textures", "order": TEXTURES[:-1]}, "order", "add ['velcro']"),
        ({"ladder": "textures", "order": [*TEXTURES, "sandpaper"]}, "order", "sandpaper"),
        ({"ladder": "textures", "order": [*TEXTURES[:-1], "silk"]}, "order", "only once"),
        ({"ladder": "gravel", "order": TEXTURES}, "ladder", "textures (textures)"),
        ({"ladder": "vibration", "order": ["v1"]}, "ladder", "fixed order"),
        ({"ladder": "textures", "order": "silk"}, "order", None),
        ({"ladder": "textures", "order": TEXTURES, "extra": 1}, "extra", None),
    ],
)
def test_refusals_name_the_field_and_leave_plan_and_history_untouched(
    app, coord, clinician, body, field, says
) -> None:
    old_textures_plan(coord)
    clinician.post("/api/plan/ranking", json={"ladder": "immersion", "order": IMMERSION})
    before = snapshot(coord)
    r = clinician.post("/api/plan/ranking", json=body)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["field"] == field, err
    if says:
        assert says in err["message"], err
    assert snapshot(coord) == before


def test_re_ranking_at_a_visit_keeps_the_history_and_moves_the_next_session(
    app, coord, clinician, patient
) -> None:
    old_textures_plan(coord)
    for ladder, order in (("textures", TEXTURES), ("immersion", IMMERSION)):
        assert (
            patient.post("/api/plan/ranking", json={"ladder": ladder, "order": order}).status_code
            == 201
        )
    visit = ["feather", *[i for i in TEXTURES if i != "feather"]]
    r = clinician.post("/api/plan/ranking", json={"ladder": "textures", "order": visit})
    assert r.status_code == 201 and r.get_json()["recorded"]["context"] == "visit"
    by = {x["ladder"]: x for x in clinician.get("/api/plan/ranking").get_json()["ladders"]}
    hist = by["textures"]["history"]
    assert [h["order"] for h in hist] == [visit, TEXTURES]  # newest first, nothing lost
    assert [(h["context"], h["by"]) for h in hist] == [("visit", "clinician:carla"),
                                                      ("intake", "patient:pat")]  # fmt: skip
    assert by["textures"]["order"] == visit == coord.planner.settings().rankings["textures"]
    nxt = wait_for(lambda: next_on(patient, "textures", "Feather"))
    assert nxt["ladder"] == "textures" and nxt["level"] == "Feather"
    page = clinician.get("/clinician/").get_data(as_text=True)
    assert 'id="ranking-textures"' in page and "History (2)" in page and "patient:pat" in page


def test_the_document_describes_the_route(app) -> None:
    doc = app.test_client().get("/api/openapi.json").get_json()
    post = doc["paths"]["/api/plan/ranking"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["ladder", "order"] and "403" in post["responses"]
    assert "201" in post["responses"] and "get" in doc["paths"]["/api/plan/ranking"]
