"""Flask-level fixtures: a real Store, library and coordinator, and the REAL engine.

The engine is ``station.engine.process.EngineRuntime`` on the simulator backend (the real
adafruit_drv2605 / adafruit_tca9548a code over the simulated I2C bus, gpiozero on mock
pins), served on its Unix socket and reached through ``station.app.engine_link.EngineLink``
exactly as in production. One engine per test module keeps the suite fast; each test's
coordinator gets its own data directory, and the engine is brought back to a known state
over IPC (stop, clear faults, reset e-stop, disarm, idle LED) before it connects. Tests
that need "engine down" or a boot-time fault start their own engine (``own_engine``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station.app.coordinator import Coordinator
from station.app.engine_link import EngineLink
from station.engine.ipc import EngineClient
from station.engine.process import EngineRuntime
from station.engine.rt import RtOptions
from station.errors import StationError
from station.wiring import load_wiring
from web import create_app

CLIN = ("carla", "clinician-pass-1")
PAT = ("pat", "patient-pass-1")
QUICK = Path(__file__).with_name("quick.toml")


def wait_for(pred, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def start_engine(data_dir: Path, *, hw: Any = None) -> EngineRuntime:
    """A real engine on the simulator; no real-time scheduling in the test process, and a
    watchdog that never kills the test runner."""
    return EngineRuntime(
        wiring=load_wiring(),
        simulate=True,
        data_dir=data_dir,
        rt=RtOptions(fifo_priority=None, timer_slack_ns=None),
        escalate=lambda: None,
        hw=hw,
    ).start()


def engine_call(runtime: EngineRuntime, method: str, **params: Any) -> Any:
    with EngineClient(runtime.socket_path, timeout=5.0) as client:
        return client.call(method, params)


def engine_state(runtime: EngineRuntime) -> dict[str, Any]:
    return engine_call(runtime, "status")


def reset_engine(runtime: EngineRuntime) -> None:
    """Back to a quiet engine between tests, through its own IPC methods."""
    with EngineClient(runtime.socket_path, timeout=5.0) as c:
        for button in ("start", "stop", "estop"):
            c.call("sim.release", {"button": button})
        c.call("sim.clear_faults")
        if c.call("status")["state"] in ("running", "paused"):
            c.call("stop", {"reason": "user", "by": "test reset"})
        if c.call("status")["estop_latched"]:
            c.call("reset_estop")
        with contextlib.suppress(StationError):
            c.call("disarm")
        c.call("set_indicator", {"pattern": "idle"})
        c.call("sim.time_scale", {"scale": 1.0})  # a fast simulated clock ends with its test
    # Let the event pump deliver what the reset emitted before a new subscriber connects.
    wait_for(lambda: not runtime.hub._pending, timeout=2)
    time.sleep(0.05)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[EngineRuntime]:
    runtime = start_engine(tmp_path_factory.mktemp("engine"))
    yield runtime
    runtime.close()


@pytest.fixture
def link(engine) -> EngineLink:
    return EngineLink(data_dir=engine.data_dir)


def armed_with(runtime: EngineRuntime, coord: Coordinator) -> bool:
    st = engine_state(runtime)
    current = coord.store.sessions.current()
    return st["state"] == "armed" and current is not None and st["session_id"] == current.id


@pytest.fixture
def coord(tmp_path, engine, link) -> Iterator[Coordinator]:
    reset_engine(engine)
    c = Coordinator(data_dir=tmp_path / "data", simulate=True, link=link)
    c.start_background()
    wait_for(lambda: armed_with(engine, c))
    yield c
    c.close()


@pytest.fixture
def app(coord):
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "1000 per minute"}, coordinator=coord)
    return app


def api_login(client, name: str, password: str) -> str:
    r = client.post("/api/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["csrf_token"]


def add_users(coord: Coordinator) -> None:
    from web.security import hash_password

    coord.store.users.create(CLIN[0], "clinician", hash_password(CLIN[1]))
    coord.store.users.create(PAT[0], "patient", hash_password(PAT[1]))


@pytest.fixture
def users(coord) -> None:
    add_users(coord)


def logged_in(app, who: tuple[str, str]):
    client = app.test_client()
    token = api_login(client, *who)
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.fixture
def patient(app, users):
    return logged_in(app, PAT)


@pytest.fixture
def clinician(app, users):
    return logged_in(app, CLIN)


def use_quick_protocol(coord: Coordinator, runtime: EngineRuntime, level: str = "quick/0") -> None:
    """Assign the short test protocol (seconds, not minutes) and wait until it is armed."""
    from station.protocols import library

    library.import_file(coord.data_dir, QUICK, wiring=coord.planner.wiring)
    coord.assign("quick", level, by="test")
    wait_for(
        lambda: (
            armed_with(runtime, coord) and engine_state(runtime)["armed"]["protocol_id"] == "quick"
        )
    )


def spawn_engine(data_dir: Path):
    """``station engine --sim`` as its own process (for tests where it must really go
    away: its connections die with it, as on the Pi)."""
    import os
    import subprocess
    import sys

    sock = data_dir / "engine.sock"
    env = {**os.environ, "STATION_SIMULATED": "1"}
    from tests import procs

    proc = procs.spawn(  # own process group, always killed (tests/procs.py)
        [sys.executable, "-m", "station.cli", "engine", "--sim", "--data-dir", str(data_dir)],
        env=env,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            with EngineClient(sock, timeout=1.0) as c:
                return bool(c.call("status"))
        except (OSError, StationError):
            return False

    try:
        wait_for(answers, timeout=30)
    except BaseException:
        procs.kill(proc)
        raise
    return proc


def end_process(proc) -> None:
    import contextlib
    import signal
    import subprocess

    from tests import procs

    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    procs.kill(proc, signal.SIGKILL)  # the rest of its group, and forget it
