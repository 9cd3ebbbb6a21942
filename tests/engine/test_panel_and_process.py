"""Panel behaviour on the simulated panel, and the engine process's ways of ending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from station.engine.ipc import EngineClient
from station.engine.simstate import after_death
from station.paths import socket_path
from tests import procs
from tests.engine.helpers import running_engine, steady, wait_for_event


def _press(c, button, hold=0.05):
    c.call("sim.press", button=button)
    time.sleep(hold)
    c.call("sim.release", button=button)


def test_start_pause_resume_and_long_press_stop(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=steady(ms=20000), session_id="p")
        t = time.monotonic_ns()
        _press(c, "start")
        wait_for_event(rt, "started")
        pin = rt.hw.wiring.panel.start_pin
        edge = rt.hw.sim.trace.select(f"gpio{pin}", "pin", since_ns=t)[0].t_ns
        first = next(
            r for r in rt.hw.sim.trace.select("forearm", "RTP_INPUT", since_ns=edge) if r.value > 0
        )
        first_after_ms = (first.t_ns - edge) / 1e6
        time.sleep(0.2)
        _press(c, "start")
        wait_for_event(rt, "state", state="paused")
        time.sleep(0.05)
        assert not c.call("sim.outputs")["forearm"]["active"]
        _press(c, "start")
        wait_for_event(rt, "state", state="running", previous="paused")
        time.sleep(0.4)
        assert c.call("sim.outputs")["forearm"]["active"]
        assert rt.hw.panel.led_pattern == "running"
        c.call("sim.press", button="start")  # pauses at once, stops when held 1.5 s
        ev = wait_for_event(rt, "stopped", timeout=4)
        c.call("sim.release", button="start")
        assert ev["reason"] == "panel_stop"
        assert not any(o["active"] for o in c.call("sim.outputs").values())
        time.sleep(0.05)
        assert rt.hw.panel.led_pattern == "stopped"
        # ramp 20 ms: the first non-zero code early, give or take the loop's own lateness
        late_ms = wait_for_event(rt, "timing", session_id="p")["max_us"] / 1000
        assert first_after_ms < 20 + late_ms, (first_after_ms, late_ms)


def _spawn(data_dir: Path) -> subprocess.Popen:
    # own process group, killed whole in each test's finally (tests/procs.py)
    proc = procs.spawn(
        [
            sys.executable,
            "-m",
            "station.cli",
            "engine",
            "--sim",
            "--sim-state",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with EngineClient(socket_path(data_dir), timeout=1) as c:
                c.call("status")
            return proc
        except OSError:
            time.sleep(0.05)
    procs.kill(proc)
    raise AssertionError(proc.stderr.read().decode())


def _vibrate(data_dir: Path) -> None:
    with EngineClient(socket_path(data_dir)) as c:
        c.call("arm", program=steady(ms=20000, level=0.7), session_id="k")
        c.call("start")
        time.sleep(0.3)
        assert c.call("sim.outputs")["forearm"]["active"]


def test_sigkill_mid_stimulus_leaves_outputs_off_once_pull_downs_apply(tmp_path):
    proc = _spawn(tmp_path)
    try:
        _vibrate(tmp_path)
        time.sleep(0.1)  # a snapshot (every 20 ms) taken while vibrating
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        procs.kill(proc)
    state = json.loads((tmp_path / "sim-state.json").read_text())
    # the honest part: at the moment of death the motor WAS driven (EN high, RTP > 0) ...
    assert state["outputs"]["forearm"]["active"] is True
    assert state["en"]["forearm"]["level"] == 1
    # ... and only the released line falling to its pull-down switches it off.
    after = after_death(state)
    assert after["forearm"] == {"active": False, "level": 0.0, "en": 0}
    assert not any(after[h]["active"] for h in ("forearm", "hand", "upper_arm", "shoulder"))
    assert after["brush"]["moving"] is False


def test_sigterm_exits_cleanly_with_everything_off(tmp_path):
    proc = _spawn(tmp_path)
    try:
        _vibrate(tmp_path)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        procs.kill(proc)
    state = json.loads((tmp_path / "sim-state.json").read_text())  # written at close
    assert state["pid"] == proc.pid
    assert not any(o["active"] for o in state["outputs"].values()), state["outputs"]
    assert all(en["level"] == 0 for en in state["en"].values())
    assert not socket_path(tmp_path).exists()


@pytest.mark.slow
def test_station_stop_cli_needs_no_login(tmp_path):
    proc = _spawn(tmp_path)
    try:
        _vibrate(tmp_path)
        out = subprocess.run(
            [sys.executable, "-m", "station.cli", "stop", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ},
        )
        assert out.returncode == 0, out.stderr
        assert "every output is off" in out.stdout
        with EngineClient(socket_path(tmp_path)) as c:
            assert not c.call("sim.outputs")["forearm"]["active"]
            assert c.call("status")["last_stop"]["reason"] == "user"
        st = subprocess.run(
            [sys.executable, "-m", "station.cli", "status", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert "state:    stopped" in st.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            procs.kill(proc)
