"""The uninstall plan: units, venv, the HAProxy config and drop-in and the station's own
certificates go; data and config stay unless ``purge``.

config.txt is left alone (a board may need it for other things); the apt packages the
install added are given back (marked auto-removable, never removed outright).
"""

from __future__ import annotations

from station.install.action import (
    APT_RECORD,
    DATA_DIR,
    UNIT_DIR,
    UNITS,
    USER,
    VENV,
    WANTS_DIR,
    Action,
)
from station.install.boot_config import MODULES_LOAD, WATCHDOG_DROPIN
from station.install.host import Host, account_ids
from station.install.proxy import HAPROXY_CFG, HAPROXY_DROPIN
from station.install.tls import TLS_DIR


def _remove_system_file(h: Host, absolute: str) -> None:
    h.remove(absolute)
    if absolute == WATCHDOG_DROPIN and h.live and not h.dry_run:
        h.runner.run(["systemctl", "daemon-reload"])  # PID 1 stops using the watchdog


def _remove_system_file_action(absolute: str) -> Action:
    def needed(h: Host) -> bool:
        return h.path(absolute).exists()

    def apply(h: Host) -> None:
        _remove_system_file(h, absolute)

    return Action(summary=f"remove {absolute}", needed=needed, apply=apply)


def _remove_proxy(h: Host) -> None:
    """The front door the install added (``station.install.proxy_plan``): the station's
    HAProxy config and the drop-in pointing Debian's haproxy.service at it; HAProxy goes
    back to its own /etc/haproxy/haproxy.cfg (the package's conffile, never touched)."""
    h.remove(HAPROXY_DROPIN)
    h.remove(HAPROXY_CFG)
    if h.live and not h.dry_run and h.path("/run/systemd/system").is_dir():
        h.runner.run(["systemctl", "daemon-reload"])
        h.runner.run(["systemctl", "try-restart", "haproxy.service"])


def _own_tls(h: Host) -> bool:
    """The certificates the install made; a brought one (``KEEP``) stays unless purge."""
    return h.path(TLS_DIR).exists() and not h.path(f"{TLS_DIR}/KEEP").exists()


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
        *(_remove_system_file_action(path) for path in (MODULES_LOAD, WATCHDOG_DROPIN)),
        Action(
            summary=f"remove {HAPROXY_CFG} and {HAPROXY_DROPIN} (HAProxy back to its own)",
            needed=lambda h: h.path(HAPROXY_CFG).exists() or h.path(HAPROXY_DROPIN).exists(),
            apply=_remove_proxy,
        ),
        Action(
            summary=f"remove {TLS_DIR} (the station's CA and certificate; a brought one "
            "with KEEP stays)",
            needed=_own_tls,
            apply=lambda h: h.remove(TLS_DIR),
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
