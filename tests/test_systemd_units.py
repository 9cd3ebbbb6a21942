"""The systemd units: systemd's own verifier, the safety-relevant settings, and that every
command line in them is one the ``station`` CLI accepts.

``systemd-analyze verify`` refuses a unit whose ExecStart is not an executable, and the
units point at /opt/station/venv, which exists only on an installed Pi. So the units are
rendered into a temporary folder with that one path swapped for a real executable; every
other line is verified as shipped. ``verify`` exits 0 even on unknown keys or bad values
(it only warns), so any output naming the unit counts as a failure too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNITS = ("station-engine.service", "station-app.service")
INSTALLED_STATION = "/opt/station/venv/bin/station"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (systemd allows a key to repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    return parse_unit((REPO / "systemd" / name).read_text())


def words(section: dict[str, list[str]], key: str) -> list[str]:
    return [w for value in section.get(key, []) for w in value.split()]


def render(tmp_path: Path, texts: dict[str, str]) -> tuple[list[Path], Path]:
    """Write the units with the station executable swapped for a real one."""
    stub = tmp_path / "bin" / "station"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    out = tmp_path / "units"
    out.mkdir(exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = out / name
        path.write_text(text.replace(INSTALLED_STATION, str(stub)))
        paths.append(path)
    return paths, stub


def verify(paths: list[Path]) -> tuple[int, list[str]]:
    """Exit code and the output lines that concern these units."""
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze is missing: ./test installs Debian's systemd package"
    result = subprocess.run(
        [exe, "verify", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )
    names = [p.name for p in paths] + [str(p) for p in paths]
    lines = (result.stdout + result.stderr).splitlines()
    return result.returncode, [ln for ln in lines if any(n in ln for n in names)]


def shipped() -> dict[str, str]:
    return {name: (REPO / "systemd" / name).read_text() for name in UNITS}


def test_systemd_analyze_verify_accepts_both_units(tmp_path):
    paths, _ = render(tmp_path, shipped())
    code, complaints = verify(paths)
    assert code == 0 and complaints == [], complaints


@pytest.mark.parametrize(
    ("unit_name", "old", "new"),
    [
        ("station-engine.service", "WatchdogSec=2s", "WatchdgSec=2s"),  # misspelt key
        ("station-engine.service", "Type=notify", "Type=notfy"),  # bad value
        ("station-app.service", "Nice=5", "Nice=fifty"),
        ("station-app.service", INSTALLED_STATION + " app", "/nonexistent/station app"),
    ],
)
def test_the_check_catches_a_broken_unit(tmp_path, unit_name, old, new):
    texts = shipped()
    assert old in texts[unit_name]
    texts[unit_name] = texts[unit_name].replace(old, new)
    paths, _ = render(tmp_path, texts)
    code, complaints = verify(paths)
    assert code != 0 or complaints, "a broken unit passed the verification"


def test_engine_unit_safety_settings():
    svc = unit("station-engine.service")["Service"]
    assert svc["Type"] == ["notify"]
    assert svc["WatchdogSec"] == ["2s"]
    assert svc["Restart"] == ["on-failure"]
    # outputs forced off after every stop, crash or kill included
    assert any("safe-off" in cmd for cmd in svc["ExecStopPost"])
    assert svc["CPUSchedulingPolicy"] == ["fifo"]
    assert svc["CPUSchedulingPriority"] == ["50"]
    assert svc["LimitMEMLOCK"] == ["infinity"] and svc["LimitRTPRIO"]
    assert svc["User"] == ["station"]
    assert set(words(svc, "SupplementaryGroups")) == {"gpio", "i2c"}
    assert svc["ProtectSystem"] == ["strict"]
    assert "/var/lib/station" in words(svc, "ReadWritePaths")
    assert svc["NoNewPrivileges"] == ["yes"] and svc["PrivateTmp"] == ["yes"]
    # the engine needs /dev/gpiochip*, /dev/i2c-* and /sys/class/pwm
    assert "PrivateDevices" not in svc and "ProtectKernelTunables" not in svc
    assert unit("station-engine.service")["Install"]["WantedBy"] == ["multi-user.target"]


def test_app_unit_survives_engine_restarts_and_has_no_hardware_access():
    app = unit("station-app.service")
    deps = app["Unit"]
    assert "station-engine.service" in words(deps, "Wants")
    assert "station-engine.service" in words(deps, "After")
    for strong in ("Requires", "BindsTo", "PartOf", "Requisite"):
        assert "station-engine.service" not in words(deps, strong), strong
    svc = app["Service"]
    assert "SupplementaryGroups" not in svc
    assert svc["PrivateDevices"] == ["yes"]
    assert svc["Nice"] == ["5"]
    assert svc["User"] == ["station"] and svc["ProtectSystem"] == ["strict"]
    assert "/sys/class/pwm" not in " ".join(svc["ReadWritePaths"])


def _environment(svc: dict[str, list[str]]) -> dict[str, str]:
    env = {}
    for value in svc.get("Environment", []):
        for pair in shlex.split(value):
            key, _, val = pair.partition("=")
            env[key] = val
    return env


@pytest.mark.parametrize(
    ("unit_name", "key"),
    [
        ("station-engine.service", "ExecStart"),
        ("station-engine.service", "ExecStopPost"),
        ("station-app.service", "ExecStart"),
    ],
)
def test_unit_commands_are_ones_the_cli_accepts(unit_name, key):
    """The units name subcommands other parts build (engine, safe-off, app): this fails
    until the CLI really accepts them with these arguments."""
    from station.cli import build_parser

    svc = unit(unit_name)["Service"]
    env = _environment(svc)
    (line,) = svc[key]
    argv = shlex.split(line)
    assert argv[0] == INSTALLED_STATION
    argv = [env.get(a[2:-1], a) if a.startswith("${") else a for a in argv[1:]]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`station {' '.join(argv)}` from {unit_name} is rejected (exit {exc.code})")
    assert callable(getattr(args, "func", None))
