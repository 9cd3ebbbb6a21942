"""Real servers for the hub tests: Mosquitto (configured by `station hub init`), PostgreSQL
in a temporary directory (as the ``postgres`` user when the suite runs as root), and
``station hub run`` as its own process. All go through tests/procs.py, so a timeout or a
crash of the suite still kills them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station.hub import brokerconf
from station.hub.broker import Broker, parse_broker
from tests import procs
from tests.procs import free_port

PG_BIN = Path("/usr/lib/postgresql")


def wait_port(port: int, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def wait_for(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")


def can_connect(broker: Broker) -> bool:
    """One clean MQTT 5 connect and disconnect with these credentials."""
    import paho.mqtt.client as mqtt

    from station.hub.broker import connect, make_client

    client = make_client(broker=broker, client_id=f"probe-{time.monotonic_ns()}")
    try:
        connect(client, broker=broker, persistent=False, asynchronous=False)
        rc = mqtt.MQTT_ERR_SUCCESS
        deadline = time.monotonic() + 3
        while not client.is_connected() and time.monotonic() < deadline and rc == 0:
            rc = client.loop(0.1)
        return client.is_connected()
    except OSError:
        return False
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()


class Mosquitto:
    """The clinic broker as `station hub init` configures it (TLS, ACL, passwords)."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        brokerconf.init(
            data_dir=data_dir,
            hostnames=["localhost", "127.0.0.1"],
            bind="127.0.0.1",
            port=self.port,
            run_as="root",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"mqtts://localhost:{self.port}"

    def add_station(self, station_id: str) -> Broker:
        path = brokerconf.add_station(data_dir=self.data_dir, station_id=station_id)
        creds = json.loads(path.read_text())
        station = self.hub_broker().with_credentials(
            username=creds["username"], password=creds["password"]
        )
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)  # reload the password file
            wait_for(lambda: can_connect(station), timeout=10, what="the reloaded password")
        return station

    def hub_broker(self) -> Broker:
        return parse_broker(self.url, data_dir=self.data_dir)

    def start(self) -> None:
        conf = self.data_dir / "mosquitto" / "mosquitto.conf"
        log = open(self.data_dir / "mosquitto.log", "ab")  # noqa: SIM115
        self.proc = procs.spawn(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
        wait_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: Mosquitto saves its persistence file and exits."""
        procs.kill(self.proc, sig)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            procs.forget(self.proc)
        self.proc = None


class Postgres:
    """A throw-away PostgreSQL cluster on a free port; as root it runs as ``postgres``."""

    def __init__(self) -> None:
        versions = sorted(PG_BIN.glob("*/bin/initdb"))
        if not versions:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = versions[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        self.port = free_port()
        self.user: str | None = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        self.proc: subprocess.Popen[bytes] | None = None

    def _run(self, args: list[str]) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self.user, timeout=120)

    def start(self) -> str:
        data = self.dir / "data"
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "hub",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        self.proc = procs.spawn(
            [
                str(self.bin / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-h",
                "127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self.user,
        )
        wait_port(self.port, timeout=30)
        time.sleep(0.5)
        return f"postgresql://hub@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        procs.kill(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class HubProcess:
    """`station hub run` as a real process (its own group: SIGKILL takes its workers)."""

    def __init__(
        self, *, broker_url: str, data_dir: Path, database: str | None = None, workers: int = 1
    ):
        self.args = [
            sys.executable,
            "-c",
            "import sys; from station.launcher import main; sys.exit(main())",
            "hub",
            "run",
            "--broker",
            broker_url,
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--workers",
            str(workers),
        ]
        if database:
            self.args += ["--database", database]
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        log = open(self.data_dir / "hub.log", "ab")  # noqa: SIM115
        self.proc = procs.spawn([*self.args, "--port", str(self.port)], stdout=log, stderr=log)
        wait_port(self.port, timeout=30)

    def kill(self) -> None:
        procs.kill(self.proc, signal.SIGKILL)
        self.proc = None
