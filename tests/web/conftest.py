"""Flask-level fixtures: a real Store, library and coordinator, a scripted engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from station.coordinator import Coordinator
from tests.web.fake_engine import FakeLink
from web import create_app

CLIN = ("carla", "clinician-pass-1")
PAT = ("pat", "patient-pass-1")


def wait_for(pred, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def link() -> FakeLink:
    return FakeLink()


@pytest.fixture
def coord(tmp_path, link) -> Iterator[Coordinator]:
    c = Coordinator(data_dir=tmp_path / "data", simulate=True, link=link)
    c.start_background()
    wait_for(lambda: link.state == "armed")
    yield c
    c.close()


@pytest.fixture
def app(coord):
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "1000 per minute"}, coordinator=coord)
    return app


def api_login(client, name: str, password: str) -> str:
    r = client.post("/api/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["csrf_token"]


@pytest.fixture
def users(coord) -> None:
    from web.security import hash_password

    coord.store.create_user(CLIN[0], "clinician", hash_password(CLIN[1]))
    coord.store.create_user(PAT[0], "patient", hash_password(PAT[1]))


@pytest.fixture
def patient(app, users):
    client = app.test_client()
    token = api_login(client, *PAT)
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.fixture
def clinician(app, users):
    client = app.test_client()
    token = api_login(client, *CLIN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client
