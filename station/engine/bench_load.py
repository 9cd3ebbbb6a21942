"""The ``loaded`` case of ``station bench``: the real web app under a bounded request load.

Separate from ``bench`` because it is a different harness: ``bench`` drives the engine
over its socket and reads the simulator trace, while this module stands up the whole app
(``station app --sim`` on a free 127.0.0.1 port, accounts made with ``station user add``,
a logged-in session) and loads it with HTTP requests, so the loop's timing under load is
measured against the real web stack, not a stand-in.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOAD_RATE = 200.0
BENCH_USER = "bench-patient"
BENCH_CLINICIAN = "bench-clinician"


class LoadGenerator:
    """``rate`` requests/s to ``url`` (alternating status poll and page), 4 threads.

    A request counts as sent only when it answers 200 without a redirect (a redirect to
    the login page would render a different template)."""

    def __init__(self, *, url: str, rate: float = LOAD_RATE, cookie: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.rate = rate
        self.headers = {"Cookie": cookie} if cookie else {}
        self.sent = self.failed = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _worker(self, k: int, n: int) -> None:
        period = n / self.rate
        nxt = time.monotonic()
        i = k
        while not self._stop.is_set():
            path = "/api/status" if i % 2 == 0 else "/"
            try:
                req = urllib.request.Request(self.url + path, headers=self.headers)
                with urllib.request.urlopen(req, timeout=5) as resp:
                    resp.read()
                    ok = resp.status == 200 and resp.geturl() == self.url + path
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
            i += 1
            nxt += period
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def __enter__(self) -> LoadGenerator:
        self.t0 = time.monotonic()
        for k in range(4):
            t = threading.Thread(target=self._worker, args=(k, 4), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.achieved = self.sent / max(1e-9, time.monotonic() - self.t0)


class RealApp:
    """``station app --sim`` on ``port`` with ``data_dir`` (the bench engine's), a patient
    account made with ``station user add``, logged in once; ``cookie`` for the load."""

    def __init__(self, *, data_dir: Path, config: Path | None) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        cli = [sys.executable, "-m", "station.cli"]
        extra = ["--config", str(config)] if config is not None else []
        password = secrets.token_urlsafe(18)
        # A clinician must exist or every page redirects to first-run set-up.
        for name, role in ((BENCH_CLINICIAN, "clinician"), (BENCH_USER, "patient")):
            subprocess.run(
                [*cli, "user", "add", name, "--role", role, "--data-dir", str(data_dir)],
                input=password + "\n", text=True, check=True, capture_output=True,
            )  # fmt: skip
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [*cli, "app", "--sim", "--port", port, "--data-dir", str(data_dir), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            self._wait_connected()
            self.cookie = self._login(password)
        except BaseException:
            self.close()
            raise

    def _wait_connected(self) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr is not None else ""
                raise RuntimeError(f"station app exited: {err}")
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=1) as r:
                    if json.loads(r.read())["engine"]["connected"]:
                        return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise RuntimeError("station app did not connect to the engine in 30 s")

    def _login(self, password: str) -> str:
        body = json.dumps({"name": BENCH_USER, "password": password}).encode()
        req = urllib.request.Request(self.url + "/api/login", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=5) as r:
            cookies = [v.split(";", 1)[0] for k, v in r.headers.items() if k == "Set-Cookie"]
        if not cookies:
            raise RuntimeError("station app: login set no session cookie")
        return "; ".join(cookies)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
