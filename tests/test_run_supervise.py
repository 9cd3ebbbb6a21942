"""`station run` keeps the station up when one of its processes dies (issue 13, "faults
tell the truth"), as systemd does for the units on a Pi: the app killed -> the engine
still stops from the CLI and the app comes back; the engine killed -> safe-off runs (the
engine unit's ExecStopPost), the app says the engine is down, the engine comes back and
the app reconnects. Each is said on stderr. SIGTERM then ends it all, with safe-off."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import procs
from tests.procs import free_port


def children(pid: int) -> dict[str, int]:
    """{"engine"|"app"|"stop-listener": pid} of ``station run``'s children (from /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
            continue
        for name in ("engine", "app", "stop-listener"):
            if name.encode() in argv[3:5]:
                out[name] = int(entry.name)
    return out


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = pred()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_a_dead_process_is_restarted_and_the_others_go_on(tmp_path):
    port, log = free_port(), tmp_path / "run.log"
    data = tmp_path / "data"
    with log.open("wb") as out:
        run = procs.spawn(
            [sys.executable, "-m", "station.cli", "run", "--sim", "--port", str(port),
             "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "the page is at" in log.read_text(), 90, "the station is up")
        first = wait_for(lambda: len(c := children(run.pid)) == 3 and c, 10, "three children")

        # The app dies: the engine is untouched and still stops; the app comes back.
        os.kill(first["app"], signal.SIGKILL)
        stop = subprocess.run(
            [sys.executable, "-m", "station.cli", "stop", "--data-dir", str(data)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert stop.returncode == 0 and "every output is off" in stop.stdout, stop
        assert children(run.pid).get("engine") == first["engine"]
        wait_for(lambda: "the web app is back" in log.read_text(), 60, "app restarted")
        assert "the web app stopped unexpectedly (exit code -9)" in log.read_text()
        assert status(port)["engine"]["connected"] is True

        # The engine dies: safe-off first, the app says so, then the engine comes back.
        os.kill(first["engine"], signal.SIGKILL)
        seen_down = wait_for(
            lambda: (
                status(port)["engine"]["connected"] is False
                or "the engine is back" in log.read_text()
            ),
            30,
            "the app notices the engine is gone",
        )
        assert seen_down
        wait_for(lambda: "the engine is back" in log.read_text(), 60, "engine restarted")
        text = log.read_text()
        died = text.index("the engine stopped unexpectedly (exit code -9)")
        assert (
            died
            < text.index("safe-off: every output is off", died)
            < text.index("the engine is back")
        )
        wait_for(lambda: status(port)["engine"]["connected"], 30, "the app reconnects")
        assert children(run.pid)["app"] != first["app"]  # the restarted one, still up

        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
        tail = log.read_text()[len(text) :]
        assert "safe-off: every output is off" in tail and "every output is off" in tail
        assert children(run.pid) == {}
    finally:
        procs.kill(run)


def test_a_process_that_keeps_dying_ends_the_run_cleanly(capsys):
    """The engine unit's StartLimitBurst: 5 deaths within a minute and the run ends,
    with safe-off after each engine death and once more at the end."""
    from station.commands import supervise

    offs = []
    sup = supervise.Supervisor(safe_off=lambda: offs.append("end"))
    crash = [sys.executable, "-c", "raise SystemExit(3)"]
    sup.add(supervise.Child(name="engine", start=lambda: subprocess.Popen(crash),
                            after_death=lambda: offs.append("death")))  # fmt: skip
    with pytest.raises(supervise.GaveUp, match="died 5 times"):
        for _ in range(200):
            sup.children[0].proc.wait(timeout=10)
            sup.check()
    sup.stop_all()
    assert offs == ["death"] * supervise.BURST + ["end"]
    err = capsys.readouterr().err
    assert err.count("the engine stopped unexpectedly (exit code 3)") == supervise.BURST
    assert err.count("the engine is back") == supervise.BURST - 1
