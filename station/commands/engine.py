"""``station engine | stop | status | bench``: run the engine and talk to it.

``station stop`` needs no login: it only needs access to the engine's socket file
(``<data-dir>/engine.sock``, mode 0660), and stopping never asks who you are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

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
from station.vocab import REQUESTED_STOPS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engine", help="run the engine process (owns all hardware)")
    add_backend(p, sim_help="use the simulator")
    p.add_argument(
        "--sim-state",
        action="store_true",
        help="simulator: keep <data-dir>/sim-state.json (physical state, for crash tests)",
    )
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=run_engine)

    p = sub.add_parser("stop", help="stop stimulation now (no login needed)")
    p.add_argument("--reason", choices=REQUESTED_STOPS, default="user")
    p.add_argument("--by", default="station stop (CLI)")
    add_data_dir(p)
    p.set_defaults(func=stop)

    p = sub.add_parser("status", help="show the engine's state")
    p.add_argument("--json", action="store_true", help="print the raw JSON")
    add_data_dir(p)
    p.set_defaults(func=status)

    p = sub.add_parser("bench", help="measure loop timing and latencies on the simulator")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per loop case")
    p.add_argument("--presses", type=int, default=50, help="button presses / stops to time")
    p.add_argument("--url", default=None, help="app URL to load (default: start the real app)")
    add_config(p)
    p.set_defaults(func=bench)


def _client(args: argparse.Namespace):
    from station.engine.ipc import EngineClient

    path = socket_path(resolve_data_dir(args))
    try:
        return EngineClient(path, timeout=3.0)
    except OSError as exc:
        raise StationError(
            f"the engine is not answering on {path} ({exc.strerror or exc}); is it running? "
            "(station run, or systemctl status station-engine)"
        ) from None


def run_engine(args: argparse.Namespace) -> int:
    from station.engine.process import main
    from station.wiring import load_wiring

    wiring = load_wiring(resolve_config(args))
    simulate = resolve_simulate(args)
    if simulate:
        # The simulated bus spends its modelled time (wire bits + host overhead) on the
        # real clock, so the loop's timing includes it; STATION_SIM_BUS_TIME=count opts out.
        os.environ.setdefault("STATION_SIM_BUS_TIME", "spend")
    return main(
        wiring=wiring,
        simulate=simulate,
        data_dir=resolve_data_dir(args),
        sim_state=args.sim_state,
    )


def stop(args: argparse.Namespace) -> int:
    with _client(args) as c:
        result = c.call("stop", reason=args.reason, by=args.by)
    if result.get("stopped"):
        print(f"stopped: every output is off (engine state {result['state']})")
        return 0
    print(f"stop requested but not confirmed within 1 s (state {result['state']})", file=sys.stderr)
    return 1


def status(args: argparse.Namespace) -> int:
    with _client(args) as c:
        st = c.call("status")
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    print("\n".join(status_lines(st)))
    return 0


def status_lines(st: dict) -> list[str]:
    """``station status`` for a person (issue 7): the engine's state, the last session
    and the timing of the last run, each on its own labelled line, always present (a
    "none yet" beats a missing line when someone reads it over the phone)."""
    led = f"; panel LEDs: {st['led']}" if st.get("led") else ""
    lines = [f"state:    {st['state']} ({st['mode']}, {st['rate_hz']} Hz{led})"]
    if st.get("estop_latched"):
        lines.append("e-stop:   LATCHED (release the e-stop, then reset: panel or page)")
    if st.get("fault"):
        lines.append(f"fault:    {st['fault']['device']}: {st['fault']['message']}")
    if st.get("armed"):
        a = st["armed"]
        lines.append(
            f"program:  {a['protocol_id']} level {a['level']} ({a['duration_ms']} ms), "
            f"session {st['session_id']}, at {st['program_ms']} ms"
        )
    lines.append(f"last session: {_last_session(st)}")
    lines.append(f"last run timing: {_last_timing(st.get('timing'))}")
    return lines


def _last_session(st: dict) -> str:
    last = st.get("last_stop")
    if not last:
        if st.get("session_id") is not None:
            return f"{st['session_id']} (not ended yet)"
        return "none since the engine started"
    at = last.get("program_ms")
    where = "" if at is None else f" at {at / 1000:.1f} s into the program"
    by = f" by {last['by']}" if last.get("by") else ""
    return f"{last.get('session_id') or '-'} ended: {last['reason']}{by}{where}"


def _last_timing(t: dict | None) -> str:
    if not t:
        return "no run since the engine started"
    return (
        f"{t['ticks']} ticks at {t['rate_hz']} Hz; wake-up lateness p50 {t['p50_us']} us, "
        f"p99 {t['p99_us']} us, max {t['max_us']} us; {t['missed']} missed deadlines"
    )


def bench(args: argparse.Namespace) -> int:
    from station.engine.bench import format_table, run_bench
    from station.wiring import load_wiring

    result = run_bench(
        wiring=load_wiring(resolve_config(args)), seconds=args.seconds, presses=args.presses,
        url=args.url,
    )  # fmt: skip
    print(json.dumps(result) if args.json else format_table(result))
    return 0
