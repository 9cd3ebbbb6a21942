"""The served station as on a Pi, on free ports: engine (simulator), app, stop listener and
HAProxy with the generated configuration and certificates (station.install.proxy/tls).

Used by tests/test_stop_unblockable.py and tools/bench_stop_flood.py. Every process runs
in its own process group through tests/procs.py, so nothing outlives a timed-out test.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.engine.ipc import EngineClient
from station.install import proxy, tls
from station.paths import socket_path
from tests import procs
from tests.procs import free_port

PATIENT = ("pat", "patient-pass-1")


def wait_for(pred, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            value = pred()
            if value:
                return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def _station(*args: str, **kw: Any) -> subprocess.Popen[Any]:
    return procs.spawn([sys.executable, "-m", "station.cli", *args], **kw)


@dataclass
class Stack:
    root: Path
    app_port: int = field(default_factory=free_port)
    stop_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    procs_: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    def engine(self, method: str, **params: Any) -> Any:
        with EngineClient(socket_path(self.data), timeout=5.0) as c:
            return c.call(method, params)

    def tls_context(self) -> ssl.SSLContext:
        """Trusts the station's CA only, and checks the name: what a phone does."""
        return ssl.create_default_context(cafile=str(self.tls_dir / "ca.crt"))

    def url(self, path: str, *, https: bool = True) -> str:
        return (
            f"https://localhost:{self.https_port}{path}"
            if https
            else f"http://127.0.0.1:{self.http_port}{path}"
        )

    def start(self) -> Stack:
        log = open(self.root / "stack.log", "ab")  # noqa: SIM115 (children write to it)
        out = {"stdout": log, "stderr": subprocess.STDOUT}
        self.procs_.append(_station("engine", "--sim", "--data-dir", str(self.data), **out))
        wait_for(lambda: self.engine("status"), 30, "engine answers")
        _station(
            "user",
            "add",
            PATIENT[0],
            "--role",
            "patient",
            "--data-dir",
            str(self.data),
            stdin=subprocess.PIPE,
        ).communicate(PATIENT[1].encode() + b"\n", timeout=30)
        self.procs_.append(
            _station(
                "app",
                "--sim",
                "--behind-proxy",  # as the installed unit: one trusted hop (HAProxy)
                "--host",
                "127.0.0.1",
                "--port",
                str(self.app_port),
                "--data-dir",
                str(self.data),
                **out,
            )
        )
        self.procs_.append(
            _station(
                "stop-listener", "--port", str(self.stop_port), "--data-dir", str(self.data), **out
            )
        )
        tls.make_ca(self.tls_dir, name="test")
        tls.make_server(self.tls_dir, dns=["localhost"], ips=["127.0.0.1"])
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(
            proxy.render(
                proxy.ProxySettings(
                    server_pem=str(self.tls_dir / "server.pem"),
                    ca_file=str(self.tls_dir / "ca.crt"),
                    app_address=f"127.0.0.1:{self.app_port}",
                    stop_address=f"127.0.0.1:{self.stop_port}",
                    bind="127.0.0.1",
                    https_port=self.https_port,
                    http_port=self.http_port,
                    system=False,
                )
            )
        )

        def up(url: str) -> bool:
            with urllib.request.urlopen(url, timeout=2, context=self.tls_context()) as r:
                return r.status == 200

        wait_for(lambda: up(f"http://127.0.0.1:{self.app_port}/api/status"), 60, "app")
        wait_for(lambda: up(f"http://127.0.0.1:{self.stop_port}/healthz"), 30, "stop listener")
        binary = proxy.haproxy_binary()
        assert binary, "haproxy is not installed (./test installs it)"
        self.procs_.append(procs.spawn([binary, "-db", "-f", str(cfg)], **out))
        wait_for(lambda: up(self.url("/api/status")), 30, "proxy -> app")
        return self

    def close(self) -> None:
        for p in reversed(self.procs_):
            procs.kill(p)

    # -- the session --------------------------------------------------------------------
    def outputs_active(self) -> list[str]:
        return [n for n, o in self.engine("sim.outputs").items() if o["active"]]

    def start_session(self) -> None:
        """The app arms the patient's next program (a day later on the simulated clock:
        the protocol spaces sessions); the panel's start starts it."""
        tries = 3  # a loaded machine may be slow to answer; say why when it never does
        while self.engine("status")["state"] != "armed" and tries:
            tries -= 1
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "station.cli",
                    "sim",
                    "clock",
                    "--advance",
                    "1d",
                    "--url",
                    f"http://127.0.0.1:{self.app_port}/",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if run.returncode == 0:
                break
            if not tries:
                raise AssertionError(f"station sim clock --advance 1d failed: {run.stderr}")
            time.sleep(1)
        wait_for(lambda: self.engine("status")["state"] == "armed", 30, "armed by the app")
        self.engine("sim.press", button="start")
        time.sleep(0.1)
        self.engine("sim.release", button="start")
        wait_for(self.outputs_active, 30, "an output active")

    def silence_s(self, since: float, timeout: float = 5.0) -> float:
        """Seconds from ``since`` (time.monotonic) until no output is active."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            if not self.outputs_active():
                return time.monotonic() - since
            time.sleep(0.002)
        raise AssertionError(f"outputs still active after {timeout} s: {self.outputs_active()}")


@contextlib.contextmanager
def running(root: Path) -> Iterator[Stack]:
    stack = Stack(root)
    try:
        yield stack.start()
    finally:
        stack.close()
