"""``station safe-off``: force every output off, whatever state the engine left them in.

The engine unit runs this as ExecStopPost, so even after a crash or a watchdog kill the
drivers get RTP 0, standby and EN low and the brush parks and detaches. It is also the
command a maker runs by hand when something keeps buzzing.
"""

from __future__ import annotations

import argparse

from station.cli import (
    add_backend,
    add_config,
    add_data_dir,
    resolve_config,
    resolve_data_dir,
    resolve_simulate,
)
from station.wiring import load_wiring


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("safe-off", help="force every output off (used after the engine stops)")
    add_backend(p, sim_help="the simulator (for trying it out)")
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=safe_off)


def safe_off(args: argparse.Namespace) -> int:
    from hardware.backend import forced_off

    simulate = resolve_simulate(args)
    data_dir = resolve_data_dir(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    problems = forced_off(load_wiring(resolve_config(args)), simulate=simulate, data_dir=data_dir)
    for problem in problems:
        print(f"station safe-off: {problem}")
    if problems:
        print(
            "station safe-off: could not reach every device; the EN pull-downs keep the "
            "drivers off, but check the wiring"
        )
        return 1
    print("station safe-off: every output is off")
    return 0
