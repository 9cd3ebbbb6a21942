"""Behind HAProxy every client reaches waitress from 127.0.0.1: per-address limits (the
login limit) must count the client HAProxy names in X-Forwarded-For, and only then.

The rule (werkzeug's ProxyFix documentation): trust exactly as many X-Forwarded-For
entries as there are proxies you run; a directly reachable app trusts none, since a
client can write any address into the header.
"""

from __future__ import annotations

import pytest

from web import create_app

WRONG = {"name": "pat", "password": "wrong-one"}


def _logins(client, forwarded_for: str, n: int) -> list[int]:
    return [
        client.post(
            "/api/login",
            json=WRONG,
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},  # HAProxy's own address
        ).status_code
        for _ in range(n)
    ]


def test_behind_the_proxy_each_client_has_its_own_login_limit(coord, users) -> None:
    app = create_app(
        {"TESTING": True, "LOGIN_RATE_LIMIT": "3 per minute", "TRUSTED_PROXIES": 1},
        coordinator=coord,
    )
    client = app.test_client()
    assert _logins(client, "10.0.0.7", 4) == [401, 401, 401, 429]
    # Another phone (another address HAProxy reports) is not locked out by the first.
    assert _logins(client, "10.0.0.8", 1) == [401]
    # A client that forges an address in front of the proxy's entry gains nothing: the
    # proxy appends the real peer last, and only that last entry is trusted.
    assert _logins(client, "1.2.3.4, 10.0.0.7", 1) == [429]


def test_directly_reachable_the_header_is_ignored(coord, users) -> None:
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "3 per minute"}, coordinator=coord)
    client = app.test_client()
    # A new forged address on every try must not reset the limit.
    codes = [_logins(client, f"10.0.0.{i}", 1)[0] for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_behind_the_proxy_the_scheme_is_the_clients(coord, users) -> None:
    app = create_app({"TESTING": True, "TRUSTED_PROXIES": 1}, coordinator=coord)

    @app.get("/_scheme")
    def _scheme():  # a probe route for this test only
        from flask import request

        return {"scheme": request.scheme, "remote": request.remote_addr}

    r = app.test_client().get(
        "/_scheme", headers={"X-Forwarded-For": "10.0.0.9", "X-Forwarded-Proto": "https"}
    )
    assert r.get_json() == {"scheme": "https", "remote": "10.0.0.9"}


@pytest.mark.parametrize("bad", [True, -1, 1.5, "1", 4])
def test_a_wrong_trusted_proxies_setting_is_refused(coord, bad) -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app({"TESTING": True, "TRUSTED_PROXIES": bad}, coordinator=coord)
