"""The OpenAPI document matches the app, and every answer matches the document.

The document is generated from the pydantic models that validate requests
(``web.contract`` / ``web.openapi``). Here schemathesis, which knows nothing of our code,
reads that document, generates valid and invalid requests for every operation and checks
each answer with its response-conformance checks (the status code is documented, the
content type is the documented one, the body validates against the documented schema),
that invalid data is refused with a 4xx, and that nothing answers 5xx, for an anonymous
caller, a patient and a clinician.
"""

from __future__ import annotations

import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import CLIN, PAT

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}
BUDGET_S = 20.0  # per caller: past it the run stops generating (a busy machine checks less)


def _app_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((method.lower(), path))
    return out


def test_every_api_route_is_documented_and_vice_versa(app) -> None:
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    routes = _app_routes(app)
    assert routes - documented == set(), "routes without a @contract (missing from the document)"
    assert documented - routes == set(), "documented paths the app does not serve"
    assert len(routes) >= 20


def test_document_comes_from_the_validating_models(app) -> None:
    """The drift the hand-written document had: a percentage documented as any number,
    a rating bound nowhere; now the document is the models' own JSON Schema."""
    from web.models import RatingIn, SettingsIn

    doc = app.test_client().get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    pct = schemas["SettingsIn"]["properties"]["intensity_percent"]
    assert pct["type"] == "number" and pct["exclusiveMinimum"] == 0 and pct["maximum"] == 100
    assert schemas["SettingsIn"]["additionalProperties"] is False
    assert schemas["RatingIn"] == RatingIn.model_json_schema()
    assert set(schemas["SettingsIn"]["properties"]) == set(SettingsIn.model_fields)
    body = doc["paths"]["/api/settings"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == schemas["SettingsIn"]
    # Who may call what, and what a stranger or the wrong role gets, comes from the
    # views' own role checks.
    start = doc["paths"]["/api/start"]["post"]
    assert {"400", "401", "409", "503"} <= set(start["responses"]) and "403" not in start[
        "responses"
    ]
    assert start["security"] == [{"cookie": [], "csrf": []}]
    library = doc["paths"]["/api/protocols"]["get"]
    assert {"401", "403"} <= set(library["responses"]) and library["security"] == [{"cookie": []}]
    assert doc["paths"]["/api/stop"]["post"]["security"] == []


def _caller(schema, who):
    """(headers, cookies) of a caller: nobody, or a user who logged in through the same
    transport schemathesis uses (Flask-Login's "strong" session protection ties the
    cookie to the client's address and User-Agent), with the CSRF token."""
    if who is None:
        return {}, {}
    login = schema["/api/login"]["POST"].Case(
        body={"name": who[0], "password": who[1]}, media_type="application/json"
    )
    resp = login.call()
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"][0].split(";", 1)[0]
    name, value = cookie.split("=", 1)
    return {"X-CSRFToken": resp.json()["csrf_token"]}, {name: value}


def _exercise(op, mode, headers, cookies, deadline, seen) -> None:
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case) -> None:
        if time.monotonic() > deadline:
            return
        resp = case.call(headers=headers, cookies=cookies)
        seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
        case.validate_response(resp, checks=checks, headers=headers)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, op.path


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["anonymous", "patient", "clinician"])
def test_every_answer_conforms_to_the_document(app, users, caller) -> None:
    app.config["SSE_MAX_SECONDS"] = 0  # the event stream sends its first status and ends
    who = {"anonymous": None, "patient": PAT, "clinician": CLIN}[caller]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # The caller's cookie and CSRF token are sent as given; schemathesis does not make
    # them up (nor leave them out as "invalid data": anonymous is its own caller).
    schema.config.generation.update(with_security_parameters=False)
    headers, cookies = _caller(schema, who)
    deadline = time.monotonic() + BUDGET_S
    seen: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        for mode in EXAMPLES:
            _exercise(result.ok(), mode, headers, cookies, deadline, seen)
    print(caller, operations, sorted(seen.items()))
    assert operations >= 20
    assert sum(seen.values()) >= 100, seen
    assert any(code < 300 for code in seen), seen
    if who is None:
        assert seen.get(401), seen
    else:  # the caller reached the views behind the login, not only the 401s
        assert seen.get(201) and seen.get(422), seen
