"""The OpenAPI document matches the app, and a bounded fuzz run finds no 5xx."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.web.conftest import PAT, api_login


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
    assert doc["openapi"].startswith("3.")
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    routes = _app_routes(app)
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented paths the app does not serve"
    assert len(routes) >= 20


@pytest.mark.slow
def test_fuzz_finds_no_server_error(app, users) -> None:
    # Logged in as the patient (with the CSRF token) so the fuzz reaches the handlers
    # behind the login, not only the 401s.
    client = app.test_client()
    token = api_login(client, *PAT)
    cookie = client.get_cookie("session").value
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    tried = 0
    codes: list[int] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/api/events":  # an endless stream by design; tested on its own
            continue

        @settings(
            max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=op.as_strategy())
        def run(case) -> None:
            resp = case.call(headers={"X-CSRFToken": token}, cookies={"session": cookie})
            codes.append(resp.status_code)
            assert resp.status_code < 500, (case.method, case.formatted_path, resp.text[:300])

        run()
        tried += 1
    assert tried >= 20
    assert len(codes) >= 100 and any(c < 300 for c in codes)
