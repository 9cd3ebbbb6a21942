"""What an installed station is: the install and uninstall plans, as idempotent actions.

Why apart from ``station.install.installer``: this module only *describes* the appliance (the
system user and its groups, the directories, station.toml, the secret key, the venv, the
systemd units, the config.txt lines) as a list of ``Action``s, each of which looks before
it acts. Running a plan, asking for consent and telling the operator what happened is
``station.install.installer``; touching the root is ``station.install.host``; the config.txt
block itself is ``station.install.boot_config``.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
from station.install.host import (
    Host,
    InstallError,
    account_ids,
    dpkg_installed,
    group_members,
    owned_as,
)
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
# Debian packages the installer itself apt-installed (and so gives back on uninstall).
APT_RECORD = "/opt/station/apt-installed"
# Python 3.13+ (Raspberry Pi OS Trixie): PyPI has no lgpio wheel, and building its sdist
# needs swig, liblgpio-dev, python3-dev and a C compiler on the appliance. The distro's
# python3-lgpio is built for exactly the system Python, links the system liblgpio and gets
# security updates through apt, so the venv uses it (--system-site-packages) and the `pi`
# extra leaves lgpio out on 3.13+ (pyproject.toml). No compiler on the appliance, no build
# that can fail half-way on a Lite image. The cost: the venv also sees the other system
# packages; pip still installs every requirement the system does not already satisfy.
# python3-lgpio (like liblgpio-dev) comes from the Raspberry Pi archive, which Raspberry Pi
# OS has configured; plain Debian does not carry it (checked on a trixie chroot).
LGPIO_FROM_DEBIAN = (3, 13)
LGPIO_DEB = "python3-lgpio"


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


def on_a_pi(h: Host) -> bool:
    return pi_model(h.path("/proc/device-tree/model")) is not None


def lgpio_from_debian(h: Host) -> bool:
    """On a Pi with Python 3.13+: lgpio comes from the system's python3-lgpio (see above)."""
    return on_a_pi(h) and h.python_minor() >= LGPIO_FROM_DEBIAN


def _system_site_packages(h: Host) -> bool:
    cfg = h.path(f"{VENV}/pyvenv.cfg")
    if not cfg.is_file():
        return False
    for line in cfg.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            return value.strip().lower() == "true"
    return False


def _apt_action() -> Action:
    def apply(h: Host) -> None:
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        h.runner.run([*env, "apt-get", "update", "-q"])
        try:
            h.runner.run(
                [*env, "apt-get", "install", "-y", "-q", "--no-install-recommends", LGPIO_DEB]
            )
        except InstallError as exc:
            raise InstallError(
                f"{exc}\n{LGPIO_DEB} is needed because Python {h.python_minor()[0]}."
                f"{h.python_minor()[1]} has no lgpio wheel; it comes from the Raspberry Pi "
                "archive (archive.raspberrypi.com), which Raspberry Pi OS has configured. "
                "On another Debian add that archive, or re-run with --python pointing at a "
                "Python 3.11 or 3.12, where pip installs lgpio's own wheel"
            ) from exc
        record = h.path(APT_RECORD)
        had = record.read_text(encoding="utf-8").split() if record.is_file() else []
        h.write(APT_RECORD, "".join(f"{p}\n" for p in sorted({*had, LGPIO_DEB})), 0o644)

    return Action(
        summary=f"apt package {LGPIO_DEB} (Python 3.13+ has no lgpio wheel on PyPI)",
        needed=lambda h: lgpio_from_debian(h) and not dpkg_installed(h, LGPIO_DEB),
        apply=apply,
    )


def _venv_action() -> Action:
    def stamp_text(h: Host) -> str:
        extra = "[pi]" if on_a_pi(h) else ""
        return f"{h.source}{extra} {source_digest(h.source)}\n"

    def needed(h: Host) -> bool:
        stamp = h.path(f"{VENV}/{STAMP}")
        return not (
            h.path(f"{VENV}/bin/python").exists()
            and stamp.is_file()
            and stamp.read_text(encoding="utf-8") == stamp_text(h)
            and (_system_site_packages(h) or not lgpio_from_debian(h))
        )

    def apply(h: Host) -> None:
        venv = h.path(VENV)
        system = lgpio_from_debian(h)
        if not h.path(f"{VENV}/bin/python").exists() or (system and not _system_site_packages(h)):
            # venv rewrites pyvenv.cfg of an existing venv: an older one gains the flag.
            flags = ["--system-site-packages"] if system else []
            h.runner.run([h.python, "-m", "venv", *flags, str(venv)])
        # Non-editable: the appliance must not depend on the checkout staying put.
        # The pi extra (lgpio: the one GPIO library for Pi 4 and Pi 5) only on a Pi.
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
        if system and h.live:
            # Importing lgpio leaves its FIFO (.lgd-nfy*) in $LG_WD: a throw-away one.
            try:
                with tempfile.TemporaryDirectory(prefix="station-lgpio-") as lg_wd:
                    python = str(venv / "bin" / "python")
                    h.runner.run(["env", f"LG_WD={lg_wd}", python, "-c", "import lgpio"])
            except InstallError as exc:
                raise InstallError(
                    f"{VENV} cannot import lgpio ({exc}); on Python 3.13+ it comes from "
                    f"the system's {LGPIO_DEB}, which serves only the system Python: re-run "
                    "with --python /usr/bin/python3 (and `sudo apt-get install "
                    f"{LGPIO_DEB}` if apt failed)"
                ) from exc
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
        *([_apt_action()] if lgpio_from_debian(host) else []),
        _venv_action(),
        *_os_actions(),
        *_units_actions(),
        # Off Raspberry Pi OS there is no config.txt: install() says so instead.
        *([_boot_action(host, wiring_boot_lines(host))] if find_config_txt(host) else []),
    ]


def _remove_system_file(h: Host, absolute: str) -> None:
    h.remove(absolute)
    if absolute == WATCHDOG_DROPIN and h.live and not h.dry_run:
        h.runner.run(["systemctl", "daemon-reload"])  # PID 1 stops using the watchdog


def _give_back_packages(h: Host) -> None:
    """``apt-mark auto``, not ``apt-get remove``: removing python3-lgpio would also remove
    anything installed since that depends on it (python3-gpiozero...). Marked automatic,
    ``apt autoremove`` removes it once nothing needs it."""
    packages = h.path(APT_RECORD).read_text(encoding="utf-8").split()
    if packages:
        h.runner.run(["apt-mark", "auto", *packages])
    h.remove(APT_RECORD)


def uninstall_plan(host: Host, *, purge: bool) -> list[Action]:
    """Units and venv go; data and config stay unless ``purge``. config.txt is left alone."""

    def units_present(h: Host) -> bool:
        return any(
            h.path(f"{d}/{u}").exists() or h.path(f"{d}/{u}").is_symlink()
            for d in (UNIT_DIR, WANTS_DIR)
            for u in UNITS
        )

    def remove_units(h: Host) -> None:
        # Stop first: ExecStopPost (safe-off) still needs the venv. Only where systemd runs
        # (sd_booted(3): /run/systemd/system exists); offline, `disable --now` refuses.
        if h.live and h.path("/run/systemd/system").is_dir():
            h.runner.run(["systemctl", "stop", *UNITS])
        h.runner.run(["systemctl", *h.root_flag(), "disable", *UNITS])
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
        *(
            Action(
                summary=f"remove {path}",
                needed=lambda h, p=path: h.path(p).exists(),
                apply=lambda h, p=path: _remove_system_file(h, p),
            )
            for path in (MODULES_LOAD, WATCHDOG_DROPIN)
        ),
        Action(
            summary="give back the apt packages the install added (marked auto-removable)",
            needed=lambda h: h.path(APT_RECORD).exists(),
            apply=_give_back_packages,
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
