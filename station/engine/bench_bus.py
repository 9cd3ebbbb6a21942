"""The bus-time cases of ``station bench``: one driver vs all four changing at once.

Why its own process (``python -m station.engine.bench_bus``): the figures come from inside
the engine (the simulated bus's per-tick meter, the loop's own wake-up recorder), which the
engine socket does not expose. So this runs the real engine (``EngineRuntime``, the same
real-time options as ``station engine``, simulator backend, no socket) in a fresh process
and drives it through ``EngineService`` exactly as the socket would, with the simulated bus
SPENDING its modelled time (``STATION_SIM_BUS_TIME=spend``): every transaction busy-waits
its wire bits at the wiring's ``[i2c] frequency_hz`` plus the host overhead per transfer
(``hardware.sim.i2c``), so the loop's lateness includes bus time.

Cases (same program shape, ``seconds`` long): every driver in the case plays a continuous
triangle (0 -> 0.8 -> 0 in 200 ms, repeated), so its RTP code changes on every tick and
only the player's rate limit decides how often it is written. ``one_driver``: forearm
alone; ``four_drivers``: the same on all four drivers at once, in phase (the worst case:
every driver wants a write on every tick). Reported per case: transactions per tick
(worst, mean), modelled bus time per tick (worst, mean, worst as % of the tick) and the
loop's wake-up lateness (p50/p99/max, missed deadlines), next to the targets: worst bus
time per tick <= ``BUS_SHARE_TARGET`` of the tick, p99 lateness <= ``P99_TARGET_US``.
A missed target is reported as such (``met: false``; the table prints MISSED).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BUS_SHARE_TARGET = 0.60  # worst modelled bus time per tick, fraction of the tick
P99_TARGET_US = 100.0  # loop wake-up lateness p99 with bus time on, idle machine
CASES = ("one_driver", "four_drivers")
SEGMENT = {"type": "amplitude", "level": 0.8, "ramp_up_ms": 100, "ramp_down_ms": 100,
           "on_ms": 200, "off_ms": 0}  # fmt: skip


def case_program(actuators: list[str], ms: int) -> dict[str, Any]:
    segs = [{**SEGMENT, "actuator": a, "start_ms": 0, "duration_ms": ms} for a in actuators]
    return {"protocol_id": "bench-bus", "protocol_version": "1", "protocol_hash": "0" * 64,
            "level": "bench", "level_index": 0, "stop_threshold": None, "duration_ms": ms,
            "steps": [{"index": 0, "kind": "vibrate", "label": "bench", "start_ms": 0,
                       "duration_ms": ms, "segments": segs}]}  # fmt: skip


def _wait_done(engine: Any, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = engine.state
        if state in ("idle", "stopped", "fault"):
            return state
        time.sleep(0.02)
    raise RuntimeError(f"bench case did not finish in {timeout_s} s")


def _case(rt: Any, service: Any, actuators: list[str], ms: int) -> dict[str, Any]:
    bus = rt.hw.sim.bus
    rate = rt.engine.rate_hz
    service("arm", {"program": case_program(actuators, ms), "session_id": "bench-bus"})
    time.sleep(0.2)  # arming's register writes are not part of playing
    trace = rt.hw.sim.trace
    seq0 = max((r.seq for r in trace.since(0)), default=-1) + 1
    tx0 = bus.transactions
    bus.reset_ticks()
    service("start", {"session_id": "bench-bus"})
    time.sleep(ms / 1000)
    state = _wait_done(rt.engine, ms / 1000 + 10)
    ticks = bus.tick_stats()
    timing = rt.engine.last_timing or {}
    tick_us = 1e6 / rate
    pct = round(100 * ticks["bus_us_worst"] / tick_us, 1)
    p99 = timing.get("p99_us", float("nan"))
    rtp = sum(1 for r in trace.since(seq0) if r.what == "RTP_INPUT")
    return {
        "drivers": len(actuators),
        "end_state": state,
        "fault": None if rt.engine.fault is None else rt.engine.fault.model_dump(),
        "ticks": ticks["ticks"],
        "transactions_per_tick": {"worst": ticks["transactions_worst"],
                                  "mean": ticks["transactions_mean"]},
        "bus_us_per_tick": {"worst": ticks["bus_us_worst"], "mean": ticks["bus_us_mean"],
                            "worst_percent_of_tick": pct},
        "lateness_us": {k: timing.get(f"{k}_us") for k in ("p50", "p99", "max")},
        "missed_deadlines": timing.get("missed"),
        "transactions": bus.transactions - tx0,
        "rtp_writes": rtp,
        "targets": {
            "bus_worst_percent_max": round(100 * BUS_SHARE_TARGET),
            "bus_met": pct <= 100 * BUS_SHARE_TARGET,
            "p99_us_max": P99_TARGET_US,
            "p99_met": p99 <= P99_TARGET_US,
        },
    }  # fmt: skip


def run_cases(*, config: Path | None, seconds: float) -> dict[str, Any]:
    """Both cases in this process (call it in a fresh one: it takes real-time settings)."""
    os.environ["STATION_SIM_BUS_TIME"] = "spend"  # before the simulator builds its bus
    from station.engine.process import HELPER_PRIORITY, THREAD_STACK, EngineRuntime
    from station.engine.rt import RtOptions
    from station.engine.service import EngineService
    from station.wiring import load_wiring

    wiring = load_wiring(config)
    names = [h.name for h in wiring.haptic]
    if len(names) < 4:
        raise RuntimeError("the bus bench needs four haptic drivers in the wiring file")
    ms = max(1000, int(seconds * 1000))
    threading.stack_size(THREAD_STACK)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(HELPER_PRIORITY))
    eng = wiring.engine
    rt_opts = RtOptions(fifo_priority=eng.realtime_priority, cpu=eng.cpu, mlock=True)
    with tempfile.TemporaryDirectory(prefix="station-bench-bus-") as tmp:
        rt = EngineRuntime(wiring=wiring, simulate=True, data_dir=Path(tmp), rt=rt_opts,
                           serve=False)  # fmt: skip
        with rt:
            service = EngineService(engine=rt.engine)
            time.sleep(0.5)
            first = "forearm" if "forearm" in names else names[0]
            cases = {
                "one_driver": _case(rt, service, [first], ms),
                "four_drivers": _case(rt, service, names[:4], ms),
            }
            timing = rt.hw.sim.bus.timing.as_dict()
            realtime = rt.engine.rt_result.as_dict()
    return {
        "rate_hz": eng.rate_hz,
        "tick_us": round(1e6 / eng.rate_hz, 1),
        "seconds": ms / 1000,
        "bus": timing,
        "rtp_update_ms": _rtp_update_ms(eng.rate_hz),
        "realtime": realtime,
        "cases": cases,
    }


def _rtp_update_ms(rate_hz: int) -> float:
    from station.engine.player import update_period_ticks

    return update_period_ticks(rate_hz) * 1000 / rate_hz


def spawn(*, config: Path | None, seconds: float, timeout_s: float = 120) -> dict[str, Any]:
    """Run ``run_cases`` in a fresh process; its JSON."""
    import subprocess

    cmd = [sys.executable, "-m", "station.engine.bench_bus", "--seconds", str(seconds)]
    if config is not None:
        cmd += ["--config", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"bus bench failed:\n{done.stderr}")
    return json.loads(done.stdout)


def format_lines(r: dict[str, Any]) -> list[str]:
    b = r["bus"]
    lines = [
        f"bus time (simulated, spent on the real clock): {b['frequency_hz'] / 1000:g} kHz "
        f"({b['bit_us']:g} us/bit) + {b['host_overhead_us']:g} us host overhead per "
        f"transaction; RTP update every {r['rtp_update_ms']:g} ms per driver, staggered",
        f"{'case':13} {'tx/tick':>13} {'bus us/tick':>18} {'lateness us':>26} {'missed':>7}",
        f"{'':13} {'worst':>6} {'mean':>6} {'worst':>7} {'% tick':>10} "
        f"{'p50':>8} {'p99':>8} {'max':>8}",
    ]
    for name in CASES:
        c = r["cases"][name]
        tx, bus, lat, tg = (c["transactions_per_tick"], c["bus_us_per_tick"],
                            c["lateness_us"], c["targets"])  # fmt: skip
        lines.append(
            f"{name:13} {tx['worst']:6d} {tx['mean']:6.2f} {bus['worst']:7.1f} "
            f"{bus['worst_percent_of_tick']:9.1f}% {lat['p50']:8.1f} {lat['p99']:8.1f} "
            f"{lat['max']:8.1f} {c['missed_deadlines']:7d}"
        )
        lines.append(
            f"{'':13} target: worst bus <= {tg['bus_worst_percent_max']} % of the tick: "
            f"{'met' if tg['bus_met'] else 'MISSED'}; p99 lateness <= {tg['p99_us_max']:g} us: "
            f"{'met' if tg['p99_met'] else 'MISSED'}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m station.engine.bench_bus")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--config", type=Path, default=None)
    args = p.parse_args(argv)
    print(json.dumps(run_cases(config=args.config, seconds=args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
