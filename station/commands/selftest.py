"""``station selftest``: one PASS/FAIL line per device; exit 0 only when all pass."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from station.cli import (
    add_backend,
    add_config,
    add_data_dir,
    resolve_config,
    resolve_data_dir,
    resolve_simulate,
)
from station.errors import StationError
from station.paths import socket_path
from station.platform import pi_model
from station.wiring import load_wiring


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("selftest", help="probe and briefly exercise every device")
    add_backend(p, sim_help="test the simulator")
    p.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="DEVICE:FAULT",
        help="simulator only: inject a fault (missing, nack, over_temp, over_current, "
        "en_unconnected), e.g. forearm:missing",
    )
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=selftest)


def _parse_injections(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        device, sep, fault = item.partition(":")
        if not sep or not device or not fault:
            raise StationError(f"--inject {item!r}: write DEVICE:FAULT, e.g. forearm:missing")
        out.append((device, fault))
    return out


def selftest(args: argparse.Namespace) -> int:
    from hardware.backend import open_hardware
    from hardware.selftest import run_selftest

    simulate = resolve_simulate(args)
    injections = _parse_injections(args.inject)
    if injections and not simulate:
        raise StationError("--inject works only on the simulator (add --sim)")
    wiring = load_wiring(resolve_config(args))
    data_dir = resolve_data_dir(args)
    if not simulate and socket_path(data_dir).exists():
        raise StationError(
            "the engine may be running and owns the hardware; stop it first "
            "(sudo systemctl stop station-engine) and run the self-test again"
        )
    data_dir = data_dir if data_dir.is_dir() else Path(tempfile.mkdtemp(prefix="station-"))
    print("station selftest: " + ("SIMULATOR" if simulate else f"hardware on {pi_model()}"))
    with open_hardware(wiring, simulate=simulate, data_dir=data_dir) as hw:
        for device, fault in injections:
            if hw.sim is None:
                raise StationError("--inject needs the simulator")
            try:
                hw.sim.inject_fault(device, fault)
            except ValueError as exc:
                raise StationError(f"--inject {device}:{fault}: {exc}") from None
        results = run_selftest(hw)
    for result in results:
        print(result.line())
    failed = [r.device for r in results if not r.ok]
    print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0
