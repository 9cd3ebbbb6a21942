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
# every unit shipped (the station's three, the clinic hub's and its broker's)
UNITS = tuple(sorted(p.name for p in (REPO / "systemd").glob("*.service")))
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


# --- lgpio's working directory and --hardware (issue 10) ---------------------------------


def lgpio_dir_problems(svc: dict[str, list[str]]) -> list[str]:
    """Why `import lgpio` could fail in this service (gpiozero #1106): it makes a FIFO in
    the working directory, or in $LG_WD, which must be writable by the service's
    unprivileged user under ProtectSystem=strict. Either setting alone would do; the unit
    sets both to one directory, so neither a chdir in our code nor a missing LG_WD in some
    other code path (safe-off) can send lgpio back to /."""
    env = _environment(svc)
    workdir = (svc.get("WorkingDirectory") or [""])[-1].lstrip("-")
    lg_wd = env.get("LG_WD", "")
    problems = []
    if workdir in ("", "/", "~"):
        problems.append(f"WorkingDirectory={workdir!r}: lgpio would put its FIFO there")
    if not lg_wd:
        problems.append("no LG_WD in Environment=")
    if lg_wd and workdir and lg_wd != workdir:
        problems.append(f"LG_WD={lg_wd} and WorkingDirectory={workdir} differ")
    fifo_dir = lg_wd or workdir
    if not fifo_dir:
        return problems
    # Writable for the service user: its own RuntimeDirectory/StateDirectory (made and
    # chowned by systemd) or a path it may write under ProtectSystem=strict.
    runtime = {f"/run/{d}" for d in words(svc, "RuntimeDirectory")}
    state = {f"/var/lib/{d}" for d in words(svc, "StateDirectory")}
    writable = runtime | state | {w.lstrip("-") for w in words(svc, "ReadWritePaths")}
    if not any(fifo_dir == w or fifo_dir.startswith(w.rstrip("/") + "/") for w in writable):
        problems.append(f"{fifo_dir} is not writable under ProtectSystem=strict")
    return problems


def test_engine_gives_lgpio_a_writable_directory_for_start_and_safe_off():
    svc = unit("station-engine.service")["Service"]
    assert lgpio_dir_problems(svc) == []
    # A runtime directory is what the unit uses: made fresh at every start (no stale FIFO)
    assert svc["WorkingDirectory"] == ["/run/station-engine"]
    assert _environment(svc)["LG_WD"] == "/run/station-engine"
    assert words(svc, "RuntimeDirectory") == ["station-engine"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("WorkingDirectory=/run/station-engine\n", ""),
        ("Environment=LG_WD=/run/station-engine\n", ""),
        ("RuntimeDirectory=station-engine\n", ""),
        ("WorkingDirectory=/run/station-engine", "WorkingDirectory=/run/elsewhere"),
    ],
)
def test_the_lgpio_directory_check_catches_a_broken_unit(old, new):
    text = (REPO / "systemd" / "station-engine.service").read_text()
    assert old in text
    broken = parse_unit(text.replace(old, new))["Service"]
    assert lgpio_dir_problems(broken), f"removing {old.strip()!r} went unnoticed"


def test_no_working_directory_and_no_lg_wd_is_caught():
    text = (REPO / "systemd" / "station-engine.service").read_text()
    text = text.replace("WorkingDirectory=/run/station-engine\n", "").replace(
        "Environment=LG_WD=/run/station-engine\n", ""
    )
    assert lgpio_dir_problems(parse_unit(text)["Service"])


def hardware_problems(svc: dict[str, list[str]]) -> list[str]:
    return [
        f"{key} lacks --hardware"
        for key in ("ExecStart", "ExecStopPost")
        if "--hardware" not in shlex.split(" ".join(svc.get(key, [])))
    ]


def test_engine_and_safe_off_insist_on_real_hardware():
    assert hardware_problems(unit("station-engine.service")["Service"]) == []


@pytest.mark.parametrize("key", ["ExecStart", "ExecStopPost"])
def test_the_hardware_check_catches_a_missing_flag(key):
    text = (REPO / "systemd" / "station-engine.service").read_text()
    lines = [
        ln.replace(" --hardware", "") if ln.startswith(key + "=") else ln
        for ln in text.splitlines()
    ]
    assert hardware_problems(parse_unit("\n".join(lines))["Service"]) == [f"{key} lacks --hardware"]


@pytest.mark.parametrize("key", ["ExecStart", "ExecStopPost"])
def test_an_unidentified_pi_fails_loudly_instead_of_simulating(key):
    """The unit's own command line, on a board without a Raspberry Pi model string:
    the backend choice refuses (a clear StationError), it never falls back to simulation."""
    from station.cli import build_parser
    from station.errors import StationError
    from station.platform import choose_backend

    (line,) = unit("station-engine.service")["Service"][key]
    args = build_parser().parse_args(shlex.split(line)[1:])
    with pytest.raises(StationError, match="--hardware"):
        choose_backend(sim=args.sim, hardware=args.hardware, model=None)
    assert choose_backend(sim=args.sim, hardware=args.hardware, model="Raspberry Pi 5") is False


def test_lgpio_imports_with_the_units_directory_and_fails_without(tmp_path):
    """The premise, checked against lgpio itself where it is installed (on a Pi: the `pi`
    extra): importing it in a directory it cannot write fails as gpiozero #1106 says, and
    the unit's LG_WD / WorkingDirectory, pointed at a writable stand-in, fix it. /proc
    stands in for systemd's default "/": not writable for anyone, root included."""
    import importlib.util
    import sys

    if importlib.util.find_spec("lgpio") is None and sys.version_info >= (3, 13):
        pytest.skip("PyPI has no lgpio wheel for Python 3.13+ (on a Pi: python3-lgpio)")
    svc = unit("station-engine.service")["Service"]
    (workdir,) = svc["WorkingDirectory"]
    stand_in = tmp_path / "run-station-engine"
    stand_in.mkdir()

    def import_lgpio(cwd: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if k != "LG_WD"}
        return subprocess.run(
            [sys.executable, "-c", "import lgpio"],
            cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    without = import_lgpio("/proc", {})
    assert without.returncode != 0 and ".lgd-nfy" in without.stderr, without.stderr
    lg_wd = _environment(svc)["LG_WD"].replace(workdir, str(stand_in))
    with_env = import_lgpio("/proc", {"LG_WD": lg_wd})
    assert with_env.returncode == 0, with_env.stderr
    in_workdir = import_lgpio(str(stand_in), {})
    assert in_workdir.returncode == 0, in_workdir.stderr
