"""The engine's Unix-socket protocol: one JSON object per line, both ways.

Request ``{"method": "status", "params": {...}, "id": 1}`` -> response
``{"id": 1, "result": ...}`` or ``{"id": 1, "error": {"code": "...", "message": "..."}}``.
``subscribe`` turns the connection into an event stream: after its response the server
sends one ``{"event": ..., "seq": n, "t_ns": ..., ...}`` line per engine event until the
client disconnects.

Why lines of JSON over a Unix socket: the app, the CLI (``station stop`` needs no login,
only access to the socket file) and tests all speak it with the standard library; file
permissions on the socket are the access control; nothing listens on the network.

The server is a ``socketserver.ThreadingUnixStreamServer``: one thread per connection,
normal priority, never touching the hardware itself (see ``station.engine.service``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from station.errors import StationError

MAX_LINE = 4 * 1024 * 1024  # an armed program is a few kB; refuse absurd requests
SOCKET_MODE = 0o660


class RemoteError(StationError):
    """The engine answered with an error; ``code`` says which (e.g. ``not_armed``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# A handler returns a result, or for ``subscribe`` a queue to stream from.
Dispatch = Callable[[str, dict[str, Any]], Any]


class EngineSubscription:
    def __init__(self, q: queue.Queue, close: Callable[[], None]) -> None:
        self.queue = q
        self.close = close


class _Handler(socketserver.StreamRequestHandler):
    server: EngineServer

    def handle(self) -> None:
        while True:
            try:
                line = self.rfile.readline(MAX_LINE)
            except OSError:
                return
            if not line:
                return
            reply, sub = self.server.answer(line)
            if not self._send(reply):
                return
            if sub is not None:
                self._stream(sub)
                return

    def _send(self, obj: dict[str, Any]) -> bool:
        try:
            self.wfile.write(json.dumps(obj, separators=(",", ":"), default=str).encode() + b"\n")
            self.wfile.flush()
            return True
        except OSError:
            return False

    def _stream(self, sub: EngineSubscription) -> None:
        try:
            while not self.server.closing:
                try:
                    ev = sub.queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                if ev is None or not self._send(ev):
                    return
        finally:
            sub.close()


class EngineServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: Path, dispatch: Dispatch) -> None:
        self.path = Path(path)
        self.dispatch = dispatch
        self.closing = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_socket():
            if engine_answers(self.path):
                raise StationError(
                    f"another engine is already serving {self.path}; stop it first "
                    "(station stop / systemctl stop station-engine)"
                )
            self.path.unlink()
        super().__init__(str(self.path), _Handler)
        os.chmod(self.path, SOCKET_MODE)
        self._thread: threading.Thread | None = None

    def answer(self, line: bytes) -> tuple[dict[str, Any], EngineSubscription | None]:
        req_id = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise RemoteError("bad_request", 'a request is {"method": str, "params": {}}')
            req_id = req.get("id")
            params = req.get("params") or {}
            if not isinstance(params, dict):
                raise RemoteError("bad_params", "params must be a JSON object")
            result = self.dispatch(req["method"], params)
        except json.JSONDecodeError as exc:
            return {"id": None, "error": {"code": "bad_request", "message": str(exc)}}, None
        except Exception as exc:
            code = getattr(exc, "code", None) or "internal"
            return {"id": req_id, "error": {"code": str(code), "message": str(exc)}}, None
        if isinstance(result, EngineSubscription):
            return {"id": req_id, "result": {"subscribed": True}}, result
        return {"id": req_id, "result": result}, None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.5}, name="engine-ipc",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def close(self) -> None:
        self.closing = True
        self.shutdown()
        self.server_close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        if self._thread is not None:
            self._thread.join(timeout=2)


def engine_answers(path: Path, timeout: float = 0.5) -> bool:
    """True when an engine answers ``status`` on the socket at ``path``."""
    try:
        with EngineClient(path, timeout=timeout) as c:
            c.call("status")
        return True
    except (OSError, StationError):
        return False


class EngineClient:
    """A blocking client: ``call(method, params)`` -> result, raises ``RemoteError``.

    Reads with its own line buffer (not ``socket.makefile``): a buffered socket file is
    unusable after one timeout, and the event stream times out on purpose."""

    def __init__(self, path: Path, *, timeout: float = 3.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(self.path))
        except OSError:
            self._sock.close()
            raise
        self._buf = bytearray()
        self._ids = itertools.count(1)

    def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        req_id = next(self._ids)
        msg = {"method": method, "params": {**(params or {}), **kw}, "id": req_id}
        self._sock.settimeout(self.timeout)
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        reply = self._read()
        if reply is None:
            raise RemoteError("disconnected", f"the engine closed the connection during {method}")
        if "error" in reply:
            err = reply["error"]
            raise RemoteError(err.get("code", "internal"), err.get("message", ""))
        return reply.get("result")

    def _read(self) -> dict[str, Any] | None:
        """One line (JSON object), or None at end of stream; TimeoutError on timeout."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                return json.loads(line)
            chunk = self._sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
            if len(self._buf) > MAX_LINE:
                raise RemoteError("bad_reply", "the engine sent an over-long line")

    def subscribe(
        self, *, poll: float | None = None, since: int | None = None
    ) -> Iterator[dict[str, Any] | None]:
        """Turn this connection into the event stream. Yields events; with ``poll``,
        yields ``None`` whenever no event arrived for ``poll`` seconds; with ``since``,
        the engine first replays the recent events after that sequence number."""
        self.call("subscribe", {"since": since} if since is not None else None)
        self._sock.settimeout(poll)
        while True:
            try:
                ev = self._read()
            except TimeoutError:
                yield None
                continue
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
