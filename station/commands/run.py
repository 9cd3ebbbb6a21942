"""``station run``: the whole station (engine + app) for a developer, a demo or a Pi.

On the Pi, systemd runs the engine and the app as two units; ``station run`` starts the
same two processes itself and supervises them: the engine first (it forces every output
off before anything else), then the app once the engine's socket answers. Ctrl-C or
SIGTERM stops the app, then the engine, which leaves every output off on exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

from station.cli import (
    add_backend,
    add_config,
    add_data_dir,
    resolve_config,
    resolve_data_dir,
    resolve_simulate,
)
from station.engine.ipc import engine_answers
from station.errors import StationError
from station.paths import socket_path
from station.platform import pi_model
from station.wiring import load_wiring

ENGINE_READY_S = 20.0
APP_READY_S = 30.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the whole station (simulator off a Pi)")
    add_backend(p, sim_help="use the simulator")
    p.add_argument("--host", default="127.0.0.1", help="address the page listens on")
    p.add_argument("--port", type=int, default=8080, help="port the page listens on")
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=run)


def _station_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "station.cli", *args]


def _wait_for(predicate, timeout: float, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StationError(
                f"the {what} exited with code {proc.returncode} while starting "
                "(its message is above)"
            )
        if predicate():
            return
        time.sleep(0.05)
    raise StationError(f"the {what} did not become ready within {timeout:.0f} s")


def _http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "api/status", timeout=1.0) as resp:
            return resp.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args)
    config = resolve_config(args)
    model = pi_model()
    simulate = resolve_simulate(args)
    load_wiring(config)  # a wrong wiring file stops here, before any process starts
    data_dir.mkdir(parents=True, exist_ok=True)
    common = ["--data-dir", str(data_dir)] + (["--config", str(config)] if config else [])
    if simulate:
        why = "no Raspberry Pi detected" if model is None else "--sim given"
        print(
            f"station: SIMULATING ({why}): no hardware is driven; the simulator stands in "
            "for every chip and pin",
            flush=True,
        )
    else:
        print(f"station: driving real hardware on {model}", flush=True)
    print(f"station: data in {data_dir}", flush=True)

    engine = app = None
    stopping = False

    def _terminate(signum, frame):
        nonlocal stopping
        stopping = True

    old_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        engine = subprocess.Popen(
            _station_cmd("engine", "--sim" if simulate else "--hardware", *common)
        )
        _wait_for(
            lambda: engine_answers(socket_path(data_dir), timeout=1.0),
            ENGINE_READY_S,
            engine,
            "engine",
        )
        app = subprocess.Popen(
            _station_cmd("app", "--host", args.host, "--port", str(args.port), *common),
            env={**os.environ, "STATION_SIMULATED": "1" if simulate else "0"},
        )
        shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
        url = f"http://{shown_host}:{args.port}/"
        _wait_for(lambda: _http_answers(url), APP_READY_S, app, "web app")
        print(f"station: the page is at {url}  (Ctrl-C stops the station)", flush=True)
        while not stopping:
            for proc, what in ((engine, "engine"), (app, "web app")):
                if proc.poll() is not None:
                    raise StationError(
                        f"the {what} stopped unexpectedly (exit code "
                        f"{proc.returncode}); its message is above"
                    )
            time.sleep(0.2)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        _stop(app)
        _stop(engine)
        print("station: stopped; every output is off", flush=True)
