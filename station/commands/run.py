"""``station run``: the whole station (engine + app) for a developer, a demo or a Pi.

On the Pi, systemd runs the engine, the app and the stop listener as units; ``station
run`` starts the same processes itself and supervises them (``station.commands.supervise``):
the engine first (it forces every output off before anything else), then the app once the
engine's socket answers, then the stop listener. One that dies is reported on stderr and
started again while the others go on (after the engine: safe-off first); every way out
(Ctrl-C, SIGTERM, a process that keeps dying) stops them all and runs safe-off.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

from station.app import setup_code
from station.cli import (
    add_backend,
    add_config,
    add_data_dir,
    resolve_config,
    resolve_data_dir,
    resolve_simulate,
)
from station.commands.supervise import Child, GaveUp, Supervisor, say
from station.engine.ipc import engine_answers
from station.errors import StationError
from station.paths import socket_path
from station.platform import pi_model
from station.sync.cli import add_hub_args, hub_args
from station.sync.config import station_broker
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
    add_hub_args(p)  # --hub URL --station-id ID: the app runs the sync agent (station.sync)
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


def run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args)
    config = resolve_config(args)
    model = pi_model()
    simulate = resolve_simulate(args)
    load_wiring(config)  # a wrong wiring file stops here, before any process starts
    hub = hub_args(args)  # so does a half-given --hub/--station-id
    if hub:  # ... or a station without its hub credentials (station.sync.config)
        station_broker(url=args.hub, data_dir=data_dir, station_id=args.station_id)
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

    stopping = False

    def _terminate(signum, frame):
        nonlocal stopping
        stopping = True

    backend = "--sim" if simulate else "--hardware"
    shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    url = f"http://{shown_host}:{args.port}/"

    def start_engine() -> subprocess.Popen:
        proc = subprocess.Popen(_station_cmd("engine", backend, *common))
        _wait_for(lambda: engine_answers(socket_path(data_dir), timeout=1.0), ENGINE_READY_S,
                  proc, "engine")  # fmt: skip
        return proc

    def start_app() -> subprocess.Popen:
        proc = subprocess.Popen(
            _station_cmd("app", "--host", args.host, "--port", str(args.port), *common, *hub),
            env={**os.environ, "STATION_SIMULATED": "1" if simulate else "0"},
        )
        _wait_for(lambda: _http_answers(url), APP_READY_S, proc, "web app")
        return proc

    def start_stopd() -> subprocess.Popen:
        # The stop listener (station.stopd) beside the page, on the next port: a stop no
        # page client can block. The page's own /stop stays too (plain HTTP, no proxy in
        # development); on a Pi HAProxy sends every stop to the listener.
        return subprocess.Popen(
            _station_cmd("stop-listener", "--host", args.host, "--port", str(args.port + 1),
                         *common[:2])
        )  # fmt: skip

    def safe_off() -> None:
        """The engine unit's ExecStopPost: every output off, whatever the engine left."""
        try:
            done = subprocess.run(_station_cmd("safe-off", backend, *common),
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"safe-off did not run ({exc}); the EN pull-downs keep the drivers off")
            return
        if done.returncode != 0:
            say(f"safe-off could not reach every device:\n{done.stdout}{done.stderr}".rstrip())
        else:
            say("safe-off: every output is off")

    sup = Supervisor(safe_off=safe_off)
    old_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        sup.add(Child(name="engine", start=start_engine, after_death=safe_off))
        sup.add(Child(name="web app", start=start_app))
        sup.add(Child(name="stop listener", start=start_stopd))
        print(f"station: stop from anywhere: curl -X POST http://{shown_host}:{args.port + 1}/stop",
              flush=True)  # fmt: skip
        print(f"station: the page is at {url}  (Ctrl-C stops the station)", flush=True)
        code = setup_code.read(data_dir)  # made by the app while no clinician exists
        if code:
            print(f"station: {setup_code.announcement(code)}", flush=True)
        while not stopping:
            sup.check()  # a dead process is reported and started again
            time.sleep(0.2)
        return 0
    except GaveUp as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        sup.stop_all()  # newest first, then safe-off: every exit path
        print("station: stopped; every output is off", flush=True)
