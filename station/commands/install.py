"""``station install``: make this Raspberry Pi a station appliance (or remove it again).

The root ``install`` script runs this from a throw-away Python environment, because the
station's own venv is one of the things it creates. See station/install/installer.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from station.cli import run_command
from station.errors import StationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="edit config.txt without asking (needed without a terminal)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="install into this directory instead of / (staging and tests: files are "
        "written there, system commands are only printed)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would change, change nothing"
    )
    parser.add_argument(
        "--uninstall",
        action="store_true",
        help="remove the units, the venv, the i2c-dev module list and the watchdog drop-in; "
        "keep the data",
    )
    parser.add_argument(
        "--purge", action="store_true", help="with --uninstall: also remove data, config and user"
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the station checkout to install (default: the one this runs from)",
    )
    parser.add_argument(
        "--python", default=None, help="the Python (3.11+) to create /opt/station/venv with"
    )


def checkout_dir(given: Path | None) -> Path:
    """The source checkout: it must hold pyproject.toml and the unit files."""
    source = (given or Path(__file__).resolve().parents[2]).resolve()
    for needed in (
        "pyproject.toml",
        "systemd/station-engine.service",
        "station/default_wiring.toml",
    ):
        if not (source / needed).is_file():
            raise StationError(
                f"--source {source}: no {needed} there; pass --source with the path of "
                "the station checkout (the folder with ./install)"
            )
    return source


def _ask(prompt: str) -> bool:
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run(args: argparse.Namespace) -> int:
    from station.install.host import Host, RecordingRunner, Runner
    from station.install.installer import install, uninstall

    if args.purge and not args.uninstall:
        raise StationError("--purge only goes with --uninstall (it removes the data)")
    root = args.root.resolve()
    live = root == Path("/")
    if live and not args.dry_run and os.geteuid() != 0:
        raise StationError(
            "installing needs root: run `sudo ./install` (or `./install --dry-run` to see "
            "what it would do)"
        )
    runner = Runner() if live and not args.dry_run else RecordingRunner()
    host = Host(root=root, source=checkout_dir(args.source), runner=runner, dry_run=args.dry_run)
    if args.python:
        host.python = args.python
    if args.uninstall:
        return uninstall(host, purge=args.purge)
    # Nobody to ask without a terminal (CI, a pipe): refuse to edit config.txt, never hang.
    ask = _ask if sys.stdin is not None and sys.stdin.isatty() else None
    return install(host, assume_yes=args.yes or args.dry_run, ask=ask)


def register(sub) -> None:
    p = sub.add_parser(
        "install",
        help="install as a system service on Raspberry Pi OS (or --uninstall)",
        description="Create the station user, /opt/station/venv, /etc/station/station.toml, "
        "/var/lib/station, the config.txt lines (I2C, PWM, strict_gpiod, watchdog), "
        "/etc/modules-load.d/station.conf (i2c-dev), the systemd watchdog drop-in and the "
        "systemd units. Safe to run again.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """Entry point for the bootstrap script (``python -m station.commands.install``)."""
    parser = argparse.ArgumentParser(prog="install", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(run, args)


if __name__ == "__main__":
    sys.exit(main())
