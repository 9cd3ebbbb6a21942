"""``station``: one command for running, configuring and inspecting the station.

Each command module exposes ``register(subparsers)`` and sets ``func`` on its parsers;
the func returns an exit code. ``StationError``s print as one clear line, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from station import __version__
from station.errors import StationError
from station.paths import default_config, default_data_dir

if TYPE_CHECKING:
    from station.storage import Store

# Modules that contribute subcommands, in the order ``station --help`` lists them.
COMMAND_MODULES = [
    "station.commands.run",
    "station.commands.selftest",
    "station.commands.safe_off",
    "station.commands.calibrate",
    "station.commands.protocol",
    "station.commands.data",
    "station.commands.plan",
    "station.commands.install",
    "station.commands.app",
    "station.commands.users",
    "station.commands.patients",
    "station.commands.engine",
    "station.commands.sim",
    "station.commands.hub",
    "station.commands.stop_listener",
]


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"data directory (default: {default_data_dir()})",
    )


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="wiring/settings TOML (default: /etc/station/station.toml if present, "
        "else the built-in simulator wiring)",
    )


def add_backend(parser: argparse.ArgumentParser, *, sim_help: str = "use the simulator") -> None:
    """``--sim`` / ``--hardware``; neither: the simulator off a Pi, hardware on one."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--sim", action="store_true", help=sim_help)
    mode.add_argument("--hardware", action="store_true", help="use the real hardware (Pi)")


def resolve_simulate(args: argparse.Namespace) -> bool:
    from station.platform import choose_backend, pi_model

    return choose_backend(sim=args.sim, hardware=args.hardware, model=pi_model())


def resolve_data_dir(args: argparse.Namespace) -> Path:
    path = getattr(args, "data_dir", None) or default_data_dir()
    return Path(path).expanduser().resolve()


def open_store(args: argparse.Namespace, *, create: bool = True) -> Store:
    """The data directory's Store, on the station's clock: the simulated one when the
    simulator moved it (``sim-clock.json``, so a command sees the same "today" as the
    page), else the wall clock."""
    from station.app.simclock import SIM_CLOCK_FILE, SimClock
    from station.storage import Store

    data = resolve_data_dir(args)
    if (data / SIM_CLOCK_FILE).exists():
        return Store.open(data, create=create, clock=SimClock(state=data / SIM_CLOCK_FILE).now)
    return Store.open(data, create=create)


def resolve_config(args: argparse.Namespace) -> Path | None:
    return getattr(args, "config", None) or default_config()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station", description="Stimulation station for desensitisation therapy."
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None, *, defaults: dict[str, object] | None = None) -> int:
    """Parse and run one subcommand. ``defaults`` land on the parsed arguments (the
    launcher passes what it already did, e.g. ``en_low_done`` for ``safe-off``)."""
    parser = build_parser()
    args = parser.parse_args(argv, argparse.Namespace(**(defaults or {})))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args.func, args)


def run_command(func, args: argparse.Namespace) -> int:
    """Run a command function: a ``StationError`` is one clear line, never a traceback."""
    try:
        return int(func(args) or 0)
    except StationError as exc:
        print(f"station: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
