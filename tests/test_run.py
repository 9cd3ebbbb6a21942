"""`./run` starts the whole station on the simulator, says so, serves the page, and stops
cleanly on SIGTERM (issue 2's "done when")."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import procs
from tests.procs import free_port

ROOT = Path(__file__).resolve().parents[1]


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} not printed within {timeout} s; output:\n{seen}")


@pytest.mark.slow
def test_run_serves_the_page_on_the_simulator(tmp_path):
    port = free_port()
    # Its own process group (./run, station run, the engine and the app), killed whole at
    # the end whatever happens (tests/procs.py); the checks below see what SIGTERM did.
    proc = procs.spawn(
        [str(ROOT / "run"), "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        try:
            out = read_until(proc, "the page is at", 90)
            assert "SIMULATING" in out
            assert f"http://localhost:{port}/" in out
            # A fresh station asks for the clinician account first (no default passwords).
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/setup", timeout=5) as resp:
                page = resp.read().decode()
            assert resp.status == 200 and "<form" in page
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as resp:
                status = resp.read().decode()
            assert '"simulate":true' in status.replace(" ", "")
        finally:
            proc.send_signal(signal.SIGTERM)
            rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest
        assert "every output is off" in rest
        # Both child processes are gone and the engine removed its socket.
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
    finally:
        procs.kill(proc)


@pytest.mark.skipif(
    Path("/proc/device-tree/model").exists(), reason="on a Raspberry Pi --hardware is valid"
)
def test_hardware_mode_off_a_pi_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "station.cli", "run", "--hardware", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "--hardware needs a Raspberry Pi" in r.stderr and "Traceback" not in r.stderr


def test_bad_wiring_stops_before_any_process_starts(tmp_path):
    cfg = tmp_path / "w.toml"
    cfg.write_text("[panel]\nstart_pin = 5\nstop_pin = 6\nsurprise = 1\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "run",
            "--config",
            str(cfg),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "panel.surprise" in r.stderr and "unknown key" in r.stderr
    assert not (tmp_path / "engine.sock").exists()
