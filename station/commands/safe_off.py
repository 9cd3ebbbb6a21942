"""``station safe-off``: force every output off, whatever state the engine left them in.

The engine unit runs this as ExecStopPost, so even after a crash or a watchdog kill the
drivers get EN low, RTP 0 and standby and the brush parks and detaches. It is also the
command a maker runs by hand when something keeps buzzing.

Order, each step independent of the one before succeeding:
1. EN low through the minimal path (``station.en_off``: the wiring TOML read with
   tomllib, lgpio on the header's chip). Through the console script it runs before
   pydantic or any driver library is even imported (``station.launcher``); when it has
   not run yet in this process (``python -m station.cli safe-off``, tests) it runs here.
2. The full path (``hardware.backend.forced_off``): every driver RTP 0 and standby over
   I2C, EN low again through gpiozero.
3. Each brush parked for real: the park duty, pulses on for a moment so the servo swings
   off the skin, then pulses off (detached).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from station.cli import (
    add_backend,
    add_config,
    add_data_dir,
    resolve_config,
    resolve_data_dir,
    resolve_simulate,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("safe-off", help="force every output off (used after the engine stops)")
    add_backend(p, sim_help="the simulator (for trying it out)")
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=safe_off)


def run_safe_off(
    config: Path | None,
    *,
    simulate: bool,
    data_dir: Path,
    trace: Any = None,
    pi_paths: Any = None,
    lgpio_module: Any = None,
    sleep: Any = None,
    report: Any = print,
    en_low_done: list[str] | None = None,
) -> list[str]:
    """EN low through the minimal path (unless ``en_low_done`` holds the problems of a run
    that already happened, printed then), then the full path. Returns every problem
    met; never raises for a device problem."""
    from station import en_off

    if en_low_done is None:
        problems = en_off.en_low_first(
            config,
            simulate=simulate,
            record=trace.record if trace is not None else None,
            paths=pi_paths,
            lgpio_module=lgpio_module,
        )
        for problem in problems:
            report(f"station safe-off: EN low: {problem}")
    else:
        problems = list(en_low_done)

    from hardware.backend import forced_off
    from station.wiring import load_wiring

    data_dir.mkdir(parents=True, exist_ok=True)
    extra = {"sleep": sleep} if sleep is not None else {}
    full = forced_off(
        load_wiring(config),
        simulate=simulate,
        data_dir=data_dir,
        trace=trace,
        pi_paths=pi_paths,
        **extra,
    )
    for problem in full:
        report(f"station safe-off: {problem}")
    return problems + full


def safe_off(args: argparse.Namespace) -> int:
    problems = run_safe_off(
        resolve_config(args),
        simulate=resolve_simulate(args),
        data_dir=resolve_data_dir(args),
        # set when station.launcher ran the minimal path first
        en_low_done=getattr(args, "en_low_done", None),
    )
    if problems:
        print(
            "station safe-off: could not reach every device; the EN pull-downs keep the "
            "drivers off, but check the wiring"
        )
        return 1
    print("station safe-off: every output is off")
    return 0
