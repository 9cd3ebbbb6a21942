"""Helpers for crash tests: the station's two processes, a small JSON client, and
read-only looks at the database as a crash left it.

Why its own module: the reliability test kills processes at random points; what it needs
around that (start, wait until answering, SIGKILL, log in, post, open the file read-only
without touching it) is plumbing that would drown the test's actual claims.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import procs

ROOT = Path(__file__).resolve().parents[1]
STATION = [sys.executable, "-m", "station.cli"]
# The crash tests claim record-keeping across kills, not loop timing. On a shared 2-core
# CI machine (no real-time priority, an app restarting next door) a 50 ms stall is the
# machine's, and the engine's watchdog would rightly end the session as "watchdog": a
# failure about the machine, not the record. The watchdog has its own tests
# (tests/engine/test_stops.py) and the loop's timing its benchmark (station bench).
CRASH_TEST_WATCHDOG_MS = 1000


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``pred`` until it returns something truthy; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


def _env() -> dict[str, str]:
    return {**os.environ, "STATION_SIMULATED": "1", "PYTHONPATH": str(ROOT)}


def _crash_test_wiring() -> str:
    """The shipped simulator wiring with only the watchdog bound relaxed (see above)."""
    text = (ROOT / "station" / "default_wiring.toml").read_text()
    relaxed = text.replace("watchdog_ms = 50\n", f"watchdog_ms = {CRASH_TEST_WATCHDOG_MS}\n")
    assert relaxed != text, "default_wiring.toml no longer says 'watchdog_ms = 50'"
    return relaxed


def log_tail(path: Path, lines: int = 15) -> str:
    """The end of a process log, for an assertion message (what the machine said)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({path.name}: {exc})"


class Station:
    """The engine and the app on one data dir and one port, each killable on its own.

    Output goes to files in the data dir (a pipe nobody reads would block the process)."""

    def __init__(self, *, data_dir: Path, port: int):
        self.data_dir = Path(data_dir)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.engine: subprocess.Popen[bytes] | None = None
        self.app: subprocess.Popen[bytes] | None = None
        self.app_starts: list[float] = []
        self.config = self.data_dir / "wiring.toml"
        self.config.write_text(_crash_test_wiring())

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.data_dir / log, "ab") as out:
            # Own process group, killed whole (tests/procs.py), even if pytest is ended.
            return procs.spawn(
                [*STATION, *args, "--data-dir", str(self.data_dir), "--config", str(self.config)],
                env=_env(),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def user_add(self, name: str, role: str, password: str) -> None:
        subprocess.run(
            [*STATION, "user", "add", name, "--role", role, "--data-dir", str(self.data_dir)],
            input=password + "\n",
            text=True,
            env=_env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=30,
        )

    def engine_alive(self) -> bool:
        return self.engine is not None and self.engine.poll() is None

    def start_engine(self) -> None:
        self.engine = self._spawn(["engine", "--sim"], "engine.log")
        wait_for(self._engine_answers, 20, "engine socket")

    def _engine_answers(self) -> bool:
        if self.engine is not None and self.engine.poll() is not None:
            raise AssertionError(f"the engine exited with {self.engine.returncode}; see engine.log")
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.data_dir / "engine.sock"))
            except OSError:
                return False
        return True

    def start_app(self, *, wait: bool = True) -> float:
        """Start the app; returns (and keeps) the seconds until /api/status answered.
        ``wait=False`` returns at once (to kill it while it is still starting)."""
        t0 = time.monotonic()
        self.app = self._spawn(["app", "--sim", "--port", str(self.port)], "app.log")
        if not wait:
            return 0.0
        wait_for(self._app_answers, 20, "web app")
        took = time.monotonic() - t0
        self.app_starts.append(took)
        return took

    def _app_answers(self) -> bool:
        if self.app is not None and self.app.poll() is not None:
            raise AssertionError(f"the app exited with {self.app.returncode}; see app.log")
        try:
            with urllib.request.urlopen(self.base + "/api/status", timeout=1) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes] | None) -> None:
        """SIGKILL the process's group (itself and anything it started) and reap it."""
        procs.kill(proc)

    def kill_app(self) -> None:
        self._kill(self.app)

    def kill_engine(self) -> None:
        self._kill(self.engine)

    def logs(self) -> str:
        """Both processes' last lines, to put in a failure message."""
        return "\n".join(
            f"--- {name} (last lines)\n{log_tail(self.data_dir / name)}"
            for name in ("engine.log", "app.log")
        )

    def close(self) -> None:
        """Kill both (used in ``finally``: nothing may outlive the test)."""
        self.kill_app()
        self.kill_engine()


class ApiError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Client:
    """A logged-in JSON client: session cookie plus the CSRF token as ``X-CSRFToken``."""

    base: str
    timeout: float = 5.0
    csrf: str | None = None
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:  # fmt: skip
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.csrf:
            req.add_header("X-CSRFToken", self.csrf)
        try:
            with self._opener.open(req, timeout=self.timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = text[:200]
            raise ApiError(exc.code, payload) from None

    def login(self, name: str, password: str) -> None:
        out = self.request("POST", "/api/login", {"name": name, "password": password})
        self.csrf = out["csrf_token"]


# -- the database as the crash left it ----------------------------------------------------


def open_ro(db: Path) -> sqlite3.Connection:
    """Read-only: the checks must never repair or write what they inspect."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


def integrity(db: Path) -> list[str]:
    with contextlib.closing(open_ro(db)) as conn:
        return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]


def ratings(db: Path) -> dict[int, tuple[int, int]]:
    """rating id -> (session id, value)."""
    with contextlib.closing(open_ro(db)) as conn:
        rows = conn.execute("SELECT id, session_id, value FROM ratings").fetchall()
    return {r["id"]: (r["session_id"], r["value"]) for r in rows}


def steps(db: Path, session_id: int) -> dict[int, tuple[str | None, str]]:
    """step index -> (finished_at, delivered_json) for one session."""
    with contextlib.closing(open_ro(db)) as conn:
        rows = conn.execute(
            "SELECT step_index, finished_at, delivered_json FROM steps WHERE session_id = ?",
            (session_id,),
        ).fetchall()
    return {r["step_index"]: (r["finished_at"], r["delivered_json"]) for r in rows}


def session_state(db: Path, session_id: int) -> str | None:
    with contextlib.closing(open_ro(db)) as conn:
        row = conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return row["state"] if row else None


def session_end(db: Path, session_id: int) -> tuple[str | None, str | None]:
    """Why and by whom the record says a session ended (for failure messages)."""
    with contextlib.closing(open_ro(db)) as conn:
        row = conn.execute(
            "SELECT end_reason, ended_by FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return (row["end_reason"], row["ended_by"]) if row else (None, None)
