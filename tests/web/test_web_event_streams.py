"""Event streams bounded per account (issue 13): each open stream holds one of waitress's
16 threads, so one account (a stolen or shared login, a script) may not open them all.
The proxy bounds streams per address; the app bounds them per account, whatever address
they come from. The N+1th is refused with 429 and says what to do; a closed one frees
its place once the server notices (its next keep-alive write).

Served by real waitress on a free port: each stream holds a real server thread.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import waitress

from web import create_app

from .conftest import CLIN, PAT, wait_for

LIMIT = 2
HEARTBEAT_S = 0.2


@pytest.fixture
def served(coord, users) -> Iterator[int]:
    app = create_app(
        {
            "TESTING": True,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "SSE_PER_USER": LIMIT,
            "SSE_HEARTBEAT_SECONDS": HEARTBEAT_S,
        },
        coordinator=coord,
    )
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield int(server.effective_port)  # type: ignore[union-attr]
    server.close()


def login(port: int, who: tuple[str, str]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/api/login",
        body=json.dumps({"name": who[0], "password": who[1]}),
        headers={"Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    cookie = (resp.getheader("Set-Cookie") or "").split(";", 1)[0]
    conn.close()
    return cookie


def open_stream(port: int, cookie: str) -> tuple[socket.socket, int, bytes]:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    head = s.recv(4096)
    return s, int(head.split(b" ")[1]), head


def test_one_account_gets_at_most_the_limit_and_a_clear_429(served) -> None:
    port = served
    phone, tablet, script = (login(port, PAT) for _ in range(3))  # three logins, one account
    held = [open_stream(port, phone), open_stream(port, tablet)]
    try:
        assert [status for _, status, _ in held] == [200, 200]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/events", headers={"Cookie": script})
        resp = conn.getresponse()
        assert resp.status == 429
        err = json.loads(resp.read())["error"]
        conn.close()
        assert err["code"] == "too_many_streams" and err["allowed"] == LIMIT
        assert "close another tab" in err["message"] and str(LIMIT) in err["message"]
        # Another account is not held back by the first one's streams.
        s, status, _ = open_stream(port, login(port, CLIN))
        s.close()
        assert status == 200
        # A closed stream gives its place back once the server's next write notices.
        held.pop()[0].close()

        def reopened() -> bool:
            s, status, _ = open_stream(port, script)
            if status == 200:
                held.append((s, status, b""))
                return True
            s.close()
            return False

        wait_for(reopened, timeout=5)
    finally:
        for s, _, _ in held:
            s.close()
