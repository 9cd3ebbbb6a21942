"""What an installed station is: the install and uninstall plans, as idempotent actions.

Why apart from ``station.installer``: this module only *describes* the appliance (the
system user and its groups, the directories, station.toml, the secret key, the venv, the
systemd units, the config.txt lines) as a list of ``Action``s, each of which looks before
it acts. Running a plan, asking for consent and telling the operator what happened is
``station.installer``; touching the root is ``station.install_host``; the config.txt
block itself is ``station.boot_config``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from station.boot_config import (
    BootLine,
    add_missing,
    boot_lines,
    find_config_txt,
    missing_boot_lines,
)
from station.install_host import Host, account_ids, group_members, owned_as
from station.platform import pi_model
from station.wiring import load_wiring

USER = "station"
HARDWARE_GROUPS = ("gpio", "i2c")
VENV = "/opt/station/venv"
CONFIG = "/etc/station/station.toml"
APP_ENV = "/etc/station/app.env"
DATA_DIR = "/var/lib/station"
SECRET_KEY = f"{DATA_DIR}/secret_key"  # read by the app (Flask SECRET_KEY), 0600
UNIT_DIR = "/etc/systemd/system"
UNITS = ("station-engine.service", "station-app.service")
WANTS_DIR = f"{UNIT_DIR}/multi-user.target.wants"
DEFAULT_PORT = 8080
STAMP = ".station-source"


@dataclass(kw_only=True)
class Action:
    """One idempotent step: ``needed`` looks, ``apply`` acts (only when needed)."""

    summary: str
    needed: Callable[[Host], bool]
    apply: Callable[[Host], None]
    consent: str | None = None  # an explanation to show and ask about before applying
    changes_boot: bool = False


def _user_actions() -> list[Action]:
    def add_user(h: Host) -> None:
        h.runner.run(
            [
                "useradd",
                *h.root_flag("--root {}"),
                "--system",
                "--user-group",
                "--home-dir",
                DATA_DIR,
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "Station engine and app",
                USER,
            ]
        )

    def missing_groups(h: Host) -> list[str]:
        members = group_members(h)
        return [g for g in HARDWARE_GROUPS if USER not in members.get(g, set())]

    def add_groups(h: Host) -> None:
        existing = group_members(h)
        for group in missing_groups(h):
            if group not in existing:  # off Raspberry Pi OS: make it, udev may use it later
                h.runner.run(["groupadd", *h.root_flag("--root {}"), "--system", group])
        h.runner.run(
            [
                "usermod",
                *h.root_flag("--root {}"),
                "--append",
                "--groups",
                ",".join(missing_groups(h)),
                USER,
            ]
        )

    return [
        Action(
            summary=f"system user {USER!r}",
            needed=lambda h: account_ids(h, USER) is None,
            apply=add_user,
        ),
        Action(
            summary=f"{USER!r} in groups {', '.join(HARDWARE_GROUPS)} (GPIO, PWM, I2C access)",
            needed=lambda h: bool(missing_groups(h)),
            apply=add_groups,
        ),
    ]


def _directory(absolute: str, mode: int, owner: str | None) -> Action:
    def apply(h: Host) -> None:
        h.mkdir(absolute, mode)
        if owner:
            h.chown(absolute, owner)

    return Action(
        summary=f"{absolute}/ (mode {mode:04o}, owner {owner or 'root'})",
        needed=lambda h: not (h.path(absolute).is_dir() and owned_as(h, absolute, mode, owner)),
        apply=apply,
    )


def _config_action() -> Action:
    def apply(h: Host) -> None:
        text = (h.source / "station" / "default_wiring.toml").read_text(encoding="utf-8")
        h.write(CONFIG, text, 0o644, exclusive=True)

    return Action(
        summary=f"{CONFIG} (from the reference wiring; an existing one is kept)",
        needed=lambda h: not h.path(CONFIG).exists(),
        apply=apply,
    )


def _secret_action() -> Action:
    def apply(h: Host) -> None:
        if not h.path(SECRET_KEY).exists():  # never replace: it would log everyone out
            h.write(SECRET_KEY, secrets.token_hex(32) + "\n", 0o600, exclusive=True)
        h.chmod(SECRET_KEY, 0o600)
        h.chown(SECRET_KEY, USER)

    return Action(
        summary=f"{SECRET_KEY} (mode 0600, owner {USER})",
        needed=lambda h: not owned_as(h, SECRET_KEY, 0o600, USER),
        apply=apply,
    )


def source_digest(source: Path) -> str:
    """What is being installed: pyproject + every package file (a changed checkout reinstalls)."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml"]
    for package in ("station", "hardware", "web"):
        files += sorted(
            p
            for p in (source / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _venv_action() -> Action:
    def stamp_text(h: Host) -> str:
        extra = "[pi]" if pi_model(h.path("/proc/device-tree/model")) else ""
        return f"{h.source}{extra} {source_digest(h.source)}\n"

    def needed(h: Host) -> bool:
        stamp = h.path(f"{VENV}/{STAMP}")
        return not (
            h.path(f"{VENV}/bin/python").exists()
            and stamp.is_file()
            and stamp.read_text(encoding="utf-8") == stamp_text(h)
        )

    def apply(h: Host) -> None:
        venv = h.path(VENV)
        if not h.path(f"{VENV}/bin/python").exists():
            h.runner.run([h.python, "-m", "venv", str(venv)])
        # Non-editable: the appliance must not depend on the checkout staying put.
        # The pi extra (lgpio first: the only backend that works on a Pi 5) only on a Pi.
        spec = stamp_text(h).split(" ")[0]
        h.runner.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                spec,
            ]
        )
        h.write(f"{VENV}/{STAMP}", stamp_text(h), 0o644)

    return Action(summary=f"{VENV} with the station from this checkout", needed=needed, apply=apply)


def _units_actions() -> list[Action]:
    def unit_text(h: Host, unit: str) -> str:
        return (h.source / "systemd" / unit).read_text(encoding="utf-8")

    def stale(h: Host) -> list[str]:
        out = []
        for unit in UNITS:
            dest = h.path(f"{UNIT_DIR}/{unit}")
            if not dest.is_file() or dest.read_text(encoding="utf-8") != unit_text(h, unit):
                out.append(unit)
        return out

    def install(h: Host) -> None:
        for unit in stale(h):
            h.write(f"{UNIT_DIR}/{unit}", unit_text(h, unit), 0o644)
        if h.live:
            h.runner.run(["systemctl", "daemon-reload"])

    def enable(h: Host) -> None:
        h.runner.run(["systemctl", *h.root_flag(), "enable", *UNITS])

    return [
        Action(summary=f"unit files in {UNIT_DIR}", needed=lambda h: bool(stale(h)), apply=install),
        Action(
            summary="units enabled at boot",
            needed=lambda h: not all(h.path(f"{WANTS_DIR}/{u}").is_symlink() for u in UNITS),
            apply=enable,
        ),
    ]


def _boot_action(lines: Sequence[BootLine]) -> Action:
    explanation = "\n".join(f"      {b.line}\n          why: {b.why}" for b in lines)
    return Action(
        summary="config.txt: I2C on at 400 kHz, hardware PWM, strict_gpiod",
        needed=lambda h: bool(missing_boot_lines(h, lines)[0]),
        apply=lambda h: add_missing(h, lines),
        consent=explanation,
        changes_boot=True,
    )


def wiring_boot_lines(host: Host) -> list[BootLine]:
    """The config.txt lines for the wiring in the root's station.toml (else the reference
    wiring). A broken station.toml stops the install here, with its own clear message."""
    config = host.path(CONFIG)
    wiring = load_wiring(config if config.is_file() else None)
    return boot_lines([b.pwm_pin for b in wiring.brush] or [18])


def install_plan(host: Host) -> list[Action]:
    """Everything an installed station needs, in dependency order."""
    return [
        *_user_actions(),
        _directory("/etc/station", 0o755, None),
        _config_action(),
        _directory(DATA_DIR, 0o750, USER),
        _secret_action(),
        _venv_action(),
        *_units_actions(),
        # Off Raspberry Pi OS there is no config.txt: install() says so instead.
        *([_boot_action(wiring_boot_lines(host))] if find_config_txt(host) else []),
    ]


def uninstall_plan(host: Host, *, purge: bool) -> list[Action]:
    """Units and venv go; data and config stay unless ``purge``. config.txt is left alone."""

    def units_present(h: Host) -> bool:
        return any(
            h.path(f"{d}/{u}").exists() or h.path(f"{d}/{u}").is_symlink()
            for d in (UNIT_DIR, WANTS_DIR)
            for u in UNITS
        )

    def remove_units(h: Host) -> None:
        # Stop first: ExecStopPost (safe-off) still needs the venv.
        h.runner.run(
            ["systemctl", *h.root_flag(), "disable", *(["--now"] if h.live else []), *UNITS]
        )
        for unit in UNITS:
            h.remove(f"{WANTS_DIR}/{unit}")
            h.remove(f"{UNIT_DIR}/{unit}")
        if h.live:
            h.runner.run(["systemctl", "daemon-reload"])

    plan = [
        Action(
            summary="stop, disable and remove the units", needed=units_present, apply=remove_units
        ),
        Action(
            summary=f"remove {VENV}",
            needed=lambda h: h.path(VENV).exists(),
            apply=lambda h: h.remove(VENV),
        ),
    ]
    if purge:
        plan += [
            Action(
                summary=f"purge {DATA_DIR} (sessions, ratings, secret key)",
                needed=lambda h: h.path(DATA_DIR).exists(),
                apply=lambda h: h.remove(DATA_DIR),
            ),
            Action(
                summary="purge /etc/station",
                needed=lambda h: h.path("/etc/station").exists(),
                apply=lambda h: h.remove("/etc/station"),
            ),
            Action(
                summary=f"remove user {USER!r}",
                needed=lambda h: account_ids(h, USER) is not None,
                apply=lambda h: h.runner.run(["userdel", *h.root_flag("--root {}"), USER]),
            ),
        ]
    return plan
