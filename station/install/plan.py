"""What an installed station is: the install and uninstall plans, as idempotent actions.

Why apart from ``station.install.installer``: this module only *describes* the appliance (the
system user and its groups, the directories, station.toml, the secret key, the venv, the
systemd units, the config.txt lines) as a list of ``Action``s, each of which looks before
it acts. The venv (and where lgpio comes from) is ``station.install.venv``; the uninstall
plan ``station.install.uninstall``; the ``Action`` and the layout
``station.install.action``. Running a plan, asking for consent and telling the operator
what happened is ``station.install.installer``; touching the root is
``station.install.host``; the config.txt block itself is ``station.install.boot_config``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from station.install.action import (
    APP_ENV,
    CONFIG,
    DATA_DIR,
    DEFAULT_PORT,
    HARDWARE_GROUPS,
    SECRET_KEY,
    UNIT_DIR,
    UNITS,
    USER,
    VENV,
    WANTS_DIR,
    Action,
)
from station.install.boot_config import (
    MODULES,
    MODULES_LOAD,
    RUNTIME_WATCHDOG_SEC,
    WATCHDOG_DROPIN,
    BootLine,
    add_missing,
    boot_lines,
    find_config_txt,
    missing_boot_lines,
    modules_load_text,
    watchdog_dropin_text,
)
from station.install.host import Host, InstallError, account_ids, group_members, owned_as
from station.install.proxy_plan import proxy_actions
from station.install.uninstall import uninstall_plan
from station.install.venv import apt_action, lgpio_from_debian, source_digest, venv_action
from station.wiring import load_wiring

# Re-exported: the installer and the tests import the layout and both plans from here.
__all__ = [
    "APP_ENV",
    "CONFIG",
    "DATA_DIR",
    "DEFAULT_PORT",
    "SECRET_KEY",
    "UNITS",
    "VENV",
    "Action",
    "install_plan",
    "source_digest",
    "uninstall_plan",
    "wiring_boot_lines",
]


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


def _file_action(
    absolute: str, text: str, summary: str, after: Callable[[Host], None] | None = None
) -> Action:
    """A whole file of the station's own: (re)written when missing or different."""

    def apply(h: Host) -> None:
        h.write(absolute, text, 0o644)
        if after and h.live and not h.dry_run:
            after(h)

    def needed(h: Host) -> bool:
        path = h.path(absolute)
        return not (path.is_file() and path.read_text(encoding="utf-8") == text)

    return Action(summary=summary, needed=needed, apply=apply)


def _load_modules_now(h: Host) -> None:
    # Boot loads them from now on; loading them now spares a reboot when config.txt
    # already had I2C on. A failure here is not fatal: the next boot loads them.
    for module in MODULES:
        try:
            h.runner.run(["modprobe", module])
        except InstallError as exc:
            print(f"    note: {exc}; the next boot loads {module}", flush=True)


def _os_actions() -> list[Action]:
    return [
        _file_action(
            MODULES_LOAD,
            modules_load_text(),
            f"{MODULES_LOAD}: load {', '.join(MODULES)} at boot (/dev/i2c-1)",
            after=_load_modules_now,
        ),
        _file_action(
            WATCHDOG_DROPIN,
            watchdog_dropin_text(),
            f"{WATCHDOG_DROPIN}: hardware watchdog, RuntimeWatchdogSec={RUNTIME_WATCHDOG_SEC}",
            # PID 1 re-reads system.conf(.d) on daemon-reload; a reboot applies it anyway.
            after=lambda h: h.runner.run(["systemctl", "daemon-reload"]),
        ),
    ]


def _boot_action(host: Host, lines: Sequence[BootLine]) -> Action:
    # The lines still missing (config.txt does not change before this action runs).
    shown = missing_boot_lines(host, lines)[0] or lines
    explanation = "\n".join(f"      {b.line}\n          why: {b.why}" for b in shown)
    return Action(
        summary="config.txt: I2C on at 400 kHz, hardware PWM, strict_gpiod, watchdog",
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
        # Only where it applies (a Pi with Python 3.13+): elsewhere an "ok" would mislead.
        *([apt_action()] if lgpio_from_debian(host) else []),
        venv_action(),
        *_os_actions(),
        *_units_actions(),
        *proxy_actions(),  # after the units: HAProxy's stop backend is station-stop
        # Off Raspberry Pi OS there is no config.txt: install() says so instead.
        *([_boot_action(host, wiring_boot_lines(host))] if find_config_txt(host) else []),
    ]
