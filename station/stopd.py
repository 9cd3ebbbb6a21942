"""The stop listener: ``POST /stop`` and ``POST /api/stop``, straight to the engine.

Why its own process and server (issue 13): the page is served by waitress, whose bounded
pools (16 threads, 100 connections) a client can fill with idle connections or open event
streams, and then every HTTP stop waited behind them. This listener serves nothing a
client can hold: it reads one request head within ``HEAD_TIMEOUT_S`` (a slowloris is
closed, never waited for), answers and closes. It runs on asyncio, so idle connections
cost a file descriptor each and no thread; only the engine call itself runs on a small
thread pool of its own. On a Pi HAProxy sits in front (``station.install.proxy``) and sends
only the stop paths here; under ``station run`` it listens on its own port beside the page.

No login and no CSRF token, as the app's own stop routes: a stale page, a locked-out phone
or a script must still stop. It only ever asks the engine to stop (the way ``station
stop`` does, over the engine's Unix socket); the app follows the engine's events, so the
session record catches up by itself. It answers success whenever the engine has stopped
(or has nothing playing), and 503 with what to do when the engine cannot be reached.

Answers: ``POST /stop`` (the page's plain form) -> 303 to ``/``; ``POST /api/stop`` ->
``{"stopped": true, "engine": {...}, "via": "stop-listener"}``; ``GET /healthz`` -> 200
(the proxy's health check; with the listener down the proxy falls back to the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.engine.ipc import EngineClient
from station.errors import StationError
from station.vocab import PLAYING_STATES

HEAD_TIMEOUT_S = 2.0  # the whole request head (and a small body) must arrive by then
HEAD_MAX = 8 * 1024
BODY_MAX = 1024  # {"reason": "too_much"} is 22 bytes
ENGINE_TIMEOUT_S = 3.0  # the engine confirms a stop within 1 s (STOP_WAIT_S)
ENGINE_THREADS = 4
PER_ADDRESS = 32  # concurrent connections from one address (the proxy uses <= 16)
MAX_CONNECTIONS = 512  # in all; well under the descriptor limit raised at start
STOP_PATHS = ("/stop", "/api/stop")


@dataclass(kw_only=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    503: "Service Unavailable",
}


def _json(status: int, obj: dict[str, Any]) -> Reply:
    return Reply(status=status, body=json.dumps(obj).encode())


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"error": {"code": code, "message": message}})


def engine_reason(body: bytes) -> str:
    """The engine's reason for a request body: "too_much" when the body says so, else the
    page's own "user" stop. Any body, or none, or a malformed one still stops."""
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        obj = json.loads(body.decode("utf-8")) if body else None
        if isinstance(obj, dict) and obj.get("reason") == "too_much":
            return "too_much"
    return "user"


class StopListener:
    """``await StopListener(...).serve(host, port)``; ``stop_engine`` is the blocking
    call the thread pool runs (tests may replace it)."""

    def __init__(self, *, socket_path: Path, by: str = "anonymous") -> None:
        self.socket_path = Path(socket_path)
        self.by = by
        self.pool = ThreadPoolExecutor(ENGINE_THREADS, thread_name_prefix="stop-engine")
        self.per_address: dict[str, int] = {}
        self.open = 0
        self.server: asyncio.AbstractServer | None = None

    # -- the engine ---------------------------------------------------------------------
    def stop_engine(self, reason: str) -> dict[str, Any]:
        with EngineClient(self.socket_path, timeout=ENGINE_TIMEOUT_S) as c:
            result = c.call("stop", reason=reason, by=self.by)
            if not result.get("stopped") and result.get("state") in PLAYING_STATES:
                result = {**result, "state": c.call("status")["state"]}
        return dict(result)

    async def _stop(self, reason: str) -> tuple[bool, dict[str, Any] | str]:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.pool, self.stop_engine, reason)
        except (OSError, StationError) as exc:
            return False, f"the engine did not answer ({exc})"
        stopped = bool(result.get("stopped")) or result.get("state") not in PLAYING_STATES
        return stopped, result

    async def answer(self, method: str, path: str, body: bytes) -> Reply:
        path = path.split("?", 1)[0]
        if path == "/healthz" and method in ("GET", "HEAD"):
            return Reply(status=200, body=b"ok\n", content_type="text/plain")
        if path not in STOP_PATHS:
            return _error(
                404,
                "not_found",
                f"{path!r}: this listener serves only POST {' and POST '.join(STOP_PATHS)}",
            )
        if method != "POST":
            reply = _error(405, "method_not_allowed", f"{method} {path}: use POST to stop")
            reply.headers["Allow"] = "POST"
            return reply
        stopped, result = await self._stop(engine_reason(body) if path == "/api/stop" else "user")
        if not stopped:
            why = result if isinstance(result, str) else f"engine state {result.get('state')}"
            return _error(
                503,
                "not_stopped",
                f"the stop is NOT confirmed: {why}. Press the "
                "stop button on the station itself, or run: station stop",
            )
        if path == "/stop":  # the page's plain form: back to the page, which shows the state
            return Reply(
                status=303, body=b"", content_type="text/plain", headers={"Location": "/?stopped=1"}
            )
        return _json(200, {"stopped": True, "engine": result, "via": "stop-listener"})

    # -- HTTP -----------------------------------------------------------------------------
    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes] | Reply:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return _error(413, "head_too_large", f"a request head is at most {HEAD_MAX} bytes")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return _error(400, "bad_request", "expected a request line 'METHOD /path HTTP/1.1'")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                if not value.strip().isdigit():
                    return _error(400, "bad_request", f"Content-Length {value.strip()!r}")
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding":
                return _error(400, "bad_request", "send the stop with Content-Length (or none)")
        if length > BODY_MAX:
            return _error(413, "body_too_large", f"a stop body is at most {BODY_MAX} bytes")
        body = await reader.readexactly(length) if length else b""
        return parts[0], parts[1], body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "local"
        if self.open >= MAX_CONNECTIONS or self.per_address.get(address, 0) >= PER_ADDRESS:
            writer.close()  # a flood from one address never crowds out the others
            return
        self.open += 1
        self.per_address[address] = self.per_address.get(address, 0) + 1
        try:
            try:
                request = await asyncio.wait_for(self._read_request(reader), HEAD_TIMEOUT_S)
            except TimeoutError:
                request = _error(408, "timeout", f"send the request within {HEAD_TIMEOUT_S} s")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            reply = request if isinstance(request, Reply) else await self.answer(*request)
            await asyncio.wait_for(self._write(writer, reply), HEAD_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.open -= 1
            left = self.per_address.pop(address) - 1
            if left:
                self.per_address[address] = left
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        head = [
            f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, '')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            "Cache-Control: no-store",
            "Connection: close",
            "X-Station-Stop: listener",
            *(f"{k}: {v}" for k, v in reply.headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
        await writer.drain()

    async def serve(self, host: str, port: int, *, ready: asyncio.Event | None = None) -> None:
        raise_fd_limit()
        self.server = await asyncio.start_server(
            self._handle, host, port, limit=HEAD_MAX, backlog=1024, reuse_address=True
        )
        if ready is not None:
            ready.set()
        async with self.server:
            await self.server.serve_forever()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def raise_fd_limit() -> None:
    """Soft descriptor limit up to the hard one: idle connections cost descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
