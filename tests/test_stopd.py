"""The stop listener on its own (station.stopd): what it answers, and that a client who
sends nothing is closed instead of waited for. With a real engine and HAProxy:
tests/test_stop_unblockable.py."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import pytest

from station.stopd import HEAD_TIMEOUT_S, StopListener, engine_reason
from tests.procs import free_port


@pytest.fixture
def listener(tmp_path):
    port = free_port()
    stopd = StopListener(socket_path=tmp_path / "no-engine.sock")
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    task = loop.create_task(stopd.serve("127.0.0.1", port, ready=ready))

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        # as asyncio.run ends: connections still being handled are cancelled and finish
        # (closing their sockets) before the loop closes, not garbage-collected later
        left = asyncio.all_tasks(loop)
        for pending in left:
            pending.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while not ready.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield stopd, port
    loop.call_soon_threadsafe(task.cancel)
    t.join(5)
    stopd.close()


def ask(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    return out


def test_engine_down_is_a_503_that_says_what_to_do(listener):
    _, port = listener
    out = ask(port, b"POST /api/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 503"), out
    assert b"NOT confirmed" in out and b"stop button on the station" in out


def test_only_post_to_the_stop_paths(listener):
    _, port = listener
    assert ask(port, b"GET /stop HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert ask(port, b"POST /settings HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404")
    assert ask(port, b"GET /healthz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200")
    big = b"POST /stop HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"
    assert ask(port, big).startswith(b"HTTP/1.1 413")


def test_a_silent_client_is_closed_and_blocks_nobody(listener):
    _, port = listener
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(30)]
    try:
        t0 = time.monotonic()
        assert ask(port, b"GET /healthz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200")
        assert time.monotonic() - t0 < 0.5, "an answer waited behind idle connections"
        idle[0].settimeout(HEAD_TIMEOUT_S + 3)
        assert idle[0].recv(100).startswith(b"HTTP/1.1 408")  # closed at the head timeout
        assert time.monotonic() - t0 <= HEAD_TIMEOUT_S + 1
    finally:
        for s in idle:
            s.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'{"reason": "too_much"}', "too_much"), (b'{"reason": "user"}', "user"),
     (b"", "user"), (b"\xff\xfe", "user"), (b'{"reason": {"a": [1]}}', "user"),
     (b"[1, 2]", "user")],
)  # fmt: skip
def test_any_body_still_stops(body, reason):
    assert engine_reason(body) == reason
