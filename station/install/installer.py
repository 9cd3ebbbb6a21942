"""Turn a Raspberry Pi OS machine into a station appliance, and back again.

The install is a *plan*: a list of actions, each of which first checks whether its part is
already done and only then acts. That makes a second run change nothing (and say so), makes
``--dry-run`` honest (it prints exactly what would happen) and makes the whole thing
testable against a temporary directory (``--root``): files are written under the root,
while system commands (useradd, pip, systemctl) go through a runner that records them
instead of running them. The bash ``install`` script only bootstraps a Python to run this.

The plans themselves (what an installed station is) are in ``station.install.plan``; this
module runs them and reports to the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from station.install.boot_config import CONFIG_TXT, find_config_txt, missing_boot_lines
from station.install.first_run import setup_code_line
from station.install.host import Host, InstallError
from station.install.plan import (
    CONFIG,
    DATA_DIR,
    SECRET_KEY,
    UNITS,
    VENV,
    Action,
    install_plan,
    uninstall_plan,
    wiring_boot_lines,
)

# The plan's names are re-exported: ``station.install.installer`` is the install's public face.
__all__ = [
    "CONFIG",
    "DATA_DIR",
    "SECRET_KEY",
    "UNITS",
    "VENV",
    "Host",
    "InstallError",
    "install",
    "install_plan",
    "uninstall",
    "uninstall_plan",
    "wiring_boot_lines",
]

# --- running a plan ---------------------------------------------------------------------


@dataclass
class Outcome:
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # needed, but not allowed to (no consent)
    boot_changed: bool = False


def execute(
    host: Host,
    plan: Sequence[Action],
    *,
    assume_yes: bool,
    ask: Callable[[str], bool] | None,
) -> Outcome:
    """Apply every needed action in order. ``ask`` is None when there is nobody to ask
    (no terminal): then an action that needs consent is refused, never hung on."""
    outcome = Outcome()
    for action in plan:
        if not action.needed(host):
            print(f"  ok       {action.summary}", flush=True)
            continue
        if action.consent and not assume_yes:
            print(f"  {action.summary}: the station needs these lines:\n{action.consent}")
            if ask is None or not ask("  Edit it now? [y/N] "):
                why = "no terminal to ask on" if ask is None else "you said no"
                print(
                    f"  refused  {action.summary} ({why}); add the lines yourself or "
                    "re-run with --yes",
                    flush=True,
                )
                outcome.refused.append(action.summary)
                continue
        print(f"  {'would' if host.dry_run else 'change':<8} {action.summary}", flush=True)
        if action.consent and (host.dry_run or assume_yes):
            print(action.consent, flush=True)  # what exactly, even when nobody is asked
        action.apply(host)
        outcome.changed.append(action.summary)
        outcome.boot_changed |= action.changes_boot
    return outcome


def page_address(host: Host) -> str:
    """Where the page will be: HAProxy serves it over HTTPS (station.install.proxy_plan);
    the app itself listens on 127.0.0.1 only."""
    import socket

    del host
    return f"https://{socket.gethostname()}.local/  (trust the station's CA from /ca.crt)"


def install(host: Host, *, assume_yes: bool, ask: Callable[[str], bool] | None) -> int:
    """The whole install. Exit code 0 when complete, 3 when something was refused."""
    print(
        f"station: installing from {host.source} into {host.root}"
        + (" (dry run: nothing is changed)" if host.dry_run else ""),
        flush=True,
    )
    if find_config_txt(host) is None:
        print(
            f"  note     no {' or '.join(CONFIG_TXT)} under {host.root}: not Raspberry Pi "
            "OS? The boot settings are left to you (hardware/README.md)",
            flush=True,
        )
    else:
        for conflict in missing_boot_lines(host, wiring_boot_lines(host))[1]:
            print(f"  check    {conflict}; keep it only if your wiring needs it", flush=True)
    outcome = execute(host, install_plan(host), assume_yes=assume_yes, ask=ask)
    if host.live and not host.dry_run and not outcome.boot_changed and not outcome.refused:
        # A first install that edited (or was refused) config.txt waits for the reboot:
        # without I2C and PWM the engine would only crash-loop.
        verb = "restart" if outcome.changed else "start"
        host.runner.run(["systemctl", verb, *UNITS])
    if not outcome.changed and not outcome.refused:
        print("station: nothing to change: the station is already installed", flush=True)
    if outcome.boot_changed and not host.dry_run:
        print(
            "station: config.txt changed: reboot to apply it (sudo reboot); the station "
            "starts by itself after the reboot",
            flush=True,
        )
    if outcome.refused:
        print(
            "station: incomplete: "
            + "; ".join(outcome.refused)
            + " (re-run with --yes to allow it)",
            flush=True,
        )
    print(f"station: the page will be at {page_address(host)}", flush=True)
    code_line = setup_code_line(host)
    if code_line:
        print(f"station: {code_line}", flush=True)
    return 3 if outcome.refused else 0


def uninstall(host: Host, *, purge: bool) -> int:
    print(
        f"station: removing the station from {host.root}"
        + (" (dry run: nothing is changed)" if host.dry_run else ""),
        flush=True,
    )
    outcome = execute(host, uninstall_plan(host, purge=purge), assume_yes=True, ask=None)
    if not outcome.changed:
        print("station: nothing to change: the station is not installed", flush=True)
    if not purge:
        print(f"station: kept {DATA_DIR} and /etc/station (use --purge to remove them)")
    path = find_config_txt(host)
    if path:
        print(
            f"station: {path} keeps its station lines (between the '# --- station' "
            "markers); remove them by hand if nothing else needs I2C, PWM or the watchdog",
            flush=True,
        )
    return 0
