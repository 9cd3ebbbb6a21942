"""Access control: roles route by route, CSRF, 401/403/413, stop without login, cookies."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest

from station.app import setup_code
from tests.web.conftest import CLIN, PAT, api_login, engine_state
from web import create_app


def _clinician_only_routes(app) -> list[tuple[str, str]]:
    """Every (method, url) a patient must never reach, taken from the url map."""
    out = []
    for rule in app.url_map.iter_rules():
        fn = app.view_functions[rule.endpoint]
        is_clin = rule.endpoint.startswith("clinician.") or (
            getattr(fn, "station_roles", None) == ("clinician",)
        )
        if not is_clin:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)  # a session's, a patient's id
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url))
    return out


def test_patient_gets_403_on_every_clinician_route(app, patient) -> None:
    routes = _clinician_only_routes(app)
    assert len(routes) >= 14, routes  # the walk found the clinician area and API
    for method, url in routes:
        r = patient.open(url, method=method, json={})
        assert r.status_code == 403, (method, url, r.status_code)


def test_clinician_reaches_those_routes(app, clinician) -> None:
    for method, url in _clinician_only_routes(app):
        if method == "GET":
            r = clinician.get(url)
            assert r.status_code in (200, 422), (url, r.status_code)


def test_unauthenticated_api_gets_401(app, users) -> None:
    client = app.test_client()
    for method, url in [
        ("POST", "/api/start"),
        ("GET", "/api/sessions"),
        ("GET", "/api/history"),
        ("POST", "/api/logout"),
        ("GET", "/api/events"),
        ("GET", "/api/protocols"),
    ]:
        r = client.open(url, method=method, json={}, headers={"X-CSRFToken": "x"})
        assert r.status_code in (400, 401), (url, r.status_code)
        if method == "GET":
            assert r.status_code == 401
            assert r.get_json()["error"]["code"] == "unauthenticated"


def test_missing_csrf_is_400(app, users) -> None:
    client = app.test_client()
    api_login(client, *PAT)
    r = client.post("/api/ratings", json={"value": 3})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "csrf"
    r = client.post("/api/journal", json={"text": "x"}, headers={"X-CSRFToken": "bogus"})
    assert r.status_code == 400


def test_html_form_without_csrf_is_400(app, users) -> None:
    client = app.test_client()
    api_login(client, *CLIN)
    r = client.post(
        "/clinician/plan", data={"protocol": "vibration-ladder", "level": "vibration/1"}
    )
    assert r.status_code == 400


def test_stop_needs_no_login_and_no_csrf(app, engine) -> None:
    client = app.test_client()
    r = client.post("/api/stop")
    assert r.status_code == 200, r.get_json()
    # The real engine got the stop: its own record says why and who.
    last = engine_state(engine)["last_stop"]
    assert last["reason"] == "user" and last["by"] == "anonymous"
    r = client.post("/stop")
    assert r.status_code == 302


def test_oversize_upload_is_413(app, clinician) -> None:
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    r = clinician.post("/api/protocols", data=big, content_type="application/toml")
    assert r.status_code == 413
    assert r.get_json()["error"]["allowed"] == app.config["MAX_CONTENT_LENGTH"]


def test_login_is_rate_limited(coord, users) -> None:
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "3 per minute"}, coordinator=coord)
    client = app.test_client()
    codes = [
        client.post("/api/login", json={"name": "pat", "password": "wrong-one"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_wrong_password_and_hash_format(app, coord, users) -> None:
    client = app.test_client()
    r = client.post("/api/login", json={"name": PAT[0], "password": "nope-nope"})
    assert r.status_code == 401
    assert coord.store.users.get(PAT[0]).password_hash.startswith("$argon2id$")
    r = client.post("/api/login", data="name=pat", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415


def test_session_cookie_flags(app, users) -> None:
    client = app.test_client()
    r = client.post("/api/login", json={"name": PAT[0], "password": PAT[1]})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secret_key_file_is_private(coord) -> None:
    create_app({"TESTING": True}, coordinator=coord)
    path = coord.data_dir / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_bytes()
    create_app({"TESTING": True}, coordinator=coord)
    assert path.read_bytes() == before and len(before) >= 32


def test_first_run_asks_for_the_clinician(app, coord) -> None:
    client = app.test_client()
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/setup")
    page = client.get("/setup").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    code = setup_code.read(coord.data_dir)  # what ./run prints (tests/web/test_web_setup_code.py)
    r = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "code": code,
            "name": "carla",
            "password": "short",
            "confirm": "short",
        },
    )
    assert r.status_code == 422 and "at least 8" in r.get_data(as_text=True)
    r = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "code": code,
            "name": "carla",
            "password": "long-enough",
            "confirm": "long-enough",
        },
    )
    assert r.status_code == 302
    assert coord.store.users.count("clinician") == 1
    # Once a clinician exists the page is gone: no second "first" account.
    r = app.test_client().post(
        "/setup", data={"name": "eve", "password": "long-enough", "confirm": "long-enough"}
    )
    assert r.status_code in (302, 400)
    assert coord.store.users.get("eve") is None


def test_web_never_imports_hardware() -> None:
    code = (
        "import sys, web, web.api, web.sim, station.app.coordinator\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('hardware', 'gpiozero', 'adafruit_drv2605', 'adafruit_tca9548a', 'board', 'busio')"
        " or m.startswith('adafruit')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("role", ["patient", "clinician"])
def test_user_add_reads_password_from_stdin(tmp_path, role) -> None:
    data = tmp_path / "d"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "user",
            "add",
            "sam",
            "--role",
            role,
            "--data-dir",
            str(data),
        ],
        input="a-good-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    from station.storage import Store
    from web.security import verify_password

    with Store.open(data) as store:
        user = store.users.get("sam")
        assert user.role == role and verify_password(user.password_hash, "a-good-password")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "user",
            "add",
            "tiny",
            "--role",
            role,
            "--data-dir",
            str(data),
        ],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "at least 8" in r.stderr
