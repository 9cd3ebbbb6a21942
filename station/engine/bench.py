"""``station bench``: the engine's timing and latency figures, measured on the simulator.

It starts a real engine process (``station engine --sim``, SCHED_FIFO where allowed) in a
temporary data directory and measures, in one run (every figure measured, none typed in):

* idle engine CPU: user + system CPU of the engine process over ``IDLE_CPU_S`` (10 s)
  with nothing armed (drivers off), as % of one core;
* loop wake-up error, "error" = ``actual wake-up - deadline`` for every tick, where tick
  ``k``'s deadline is the absolute grid ``t0 + k * period``; p50/p99/max in us, and
  ``missed`` = grid deadlines that passed without a tick:
  - ``idle``: the engine plays the four-driver program, nothing else runs;
  - ``loaded``: the same while a bounded load generator (``bench_load``) sends
    ``LOAD_RATE`` requests/s (half ``GET /api/status``, half ``GET /``, a Jinja page
    render, logged in as a patient) to the REAL web app (``station app``, waitress)
    started on a free 127.0.0.1 port with the bench's data directory, so the bench's
    engine is its engine; ``--url`` points the load at another app instead (then no app
    RSS is reported);
  - ``naive``: a plain ``sleep(period)`` loop in this process, error against the same
    absolute grid (its drift counts as error); ``naive_relative`` is the same loop's
    error against its own requested wake-up (previous wake + period), shown for context;
* button-to-output: start pin edge (simulator trace) -> first haptic write (the program
  opens with a tap, so the first write is its effect), ``presses`` times;
* stop-to-silence: stop pin edge -> last switch-off write (EN low / brush park);
* I2C transactions per RTP update = (every bus transaction while the four-driver program
  plays: RTP writes, mux channel selects, STATUS fault polls, anything else) / (RTP
  amplitude writes), four drivers behind the mux, each ramping in turn;
* resident memory (VmRSS) of the engine and of the app at the end of the loaded case;
* ``bus_time`` (``bench_bus``, its own process, run first on the otherwise idle machine):
  one driver vs all four changing at once, with the simulated bus spending its modelled
  time (wire bits at the wiring's clock + host overhead per transaction): transactions per
  tick (worst, mean), modelled bus time per tick (worst), loop lateness p50/p99/max, each
  next to its target (worst bus time <= 60 % of the tick, p99 <= 100 us); a missed target
  is printed as MISSED.

The engine process itself (``station engine --sim``) spends bus time too, so the idle and
loaded cases include it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from station.engine import bench_bus
from station.engine.bench_load import LoadGenerator, RealApp
from station.engine.ipc import EngineClient, RemoteError
from station.engine.loop import TimingRecorder, naive_loop, percentile
from station.engine.player import MIN_RAMP_MS
from station.errors import StationError
from station.paths import socket_path
from station.wiring import WiringConfig

HAPTICS_HINT = "forearm"


def _prog(segments: list[dict[str, Any]], ms: int) -> dict[str, Any]:
    return {"protocol_id": "bench", "protocol_version": "1", "protocol_hash": "0" * 64,
            "level": "bench", "level_index": 0, "stop_threshold": None, "duration_ms": ms,
            "steps": [{"index": 0, "kind": "vibrate", "label": "bench", "start_ms": 0,
                       "duration_ms": ms, "segments": segments}]}  # fmt: skip


def _four_drivers(names: list[str], ms: int) -> dict[str, Any]:
    """Each driver in turn ramps up and down (a quarter of every second each)."""
    segs = []
    for k in range(ms // 1000):
        for i, n in enumerate(names[:4]):
            segs.append({"type": "amplitude", "actuator": n, "start_ms": k * 1000 + i * 250,
                         "duration_ms": 250, "level": 0.8, "ramp_up_ms": 120,
                         "ramp_down_ms": 120})  # fmt: skip
    return _prog(segs, ms)


def _spawn_engine(data_dir: Path, config: Path | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "station.cli", "engine", "--sim", "--data-dir", str(data_dir)]
    if config is not None:
        cmd += ["--config", str(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(400):
        try:
            with EngineClient(socket_path(data_dir), timeout=1) as c:
                c.call("status")
            return proc
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr is not None else ""
                raise RuntimeError(err) from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the engine did not start in 20 s")


def _wait_state(c: EngineClient, states: tuple[str, ...], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = c.call("status")
        if st["state"] in states:
            return st
        time.sleep(0.02)
    raise RuntimeError(f"engine not in {states} after {timeout} s")


def _play(c: EngineClient, prog: dict[str, Any], *, armed: bool = False) -> dict[str, Any]:
    if not armed:
        c.call("arm", program=prog, session_id="bench")
    c.call("start")
    st = _wait_state(c, ("idle", "stopped", "fault"), prog["duration_ms"] / 1000 + 10)
    t = st["timing"]
    return {k: t[k] for k in ("p50_us", "p99_us", "max_us", "missed")}


def _trace(c: EngineClient, since: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        chunk = c.call("sim.trace", since=since, limit=20000)["records"]
        out += chunk
        if len(chunk) < 20000:
            return out
        since = chunk[-1]["seq"] + 1


def _latencies(c: EngineClient, wiring: WiringConfig, presses: int) -> tuple[list, list]:
    haptics = {h.name for h in wiring.haptic}
    start_dev, stop_dev = f"gpio{wiring.panel.start_pin}", f"gpio{wiring.panel.stop_pin}"
    tap = _prog([{"type": "taps", "actuator": HAPTICS_HINT, "start_ms": 0, "duration_ms": 60000,
                  "effect_id": 1, "interval_ms": 200},
                 {"type": "amplitude", "actuator": "shoulder", "start_ms": 0,
                  "duration_ms": 60000, "level": 0.5, "ramp_up_ms": MIN_RAMP_MS,
                  "ramp_down_ms": MIN_RAMP_MS}], 60000)  # fmt: skip
    press_ms, stop_ms = [], []
    for _ in range(presses):
        c.call("arm", program=tap, session_id="press")
        seq = c.call("sim.trace", since=0, limit=1)["last_seq"] + 1
        c.call("sim.press", button="start")
        c.call("sim.release", button="start")
        _wait_state(c, ("running",), 5)
        time.sleep(0.05)
        c.call("sim.press", button="stop")
        c.call("sim.release", button="stop")
        _wait_state(c, ("stopped",), 5)
        time.sleep(0.01)
        recs = _trace(c, seq)
        edge = next(r for r in recs if r["device"] == start_dev and r["value"] == 0)
        first = next(r for r in recs if r["t_ns"] > edge["t_ns"] and r["device"] in haptics
                     and r["what"] in ("GO", "RTP_INPUT") and r["value"] > 0)  # fmt: skip
        press_ms.append((first["t_ns"] - edge["t_ns"]) / 1e6)
        sedge = next(r for r in recs if r["device"] == stop_dev and r["value"] == 0)
        offs = [next(r for r in recs if r["t_ns"] > sedge["t_ns"] and r["device"] == h
                     and r["what"] == "EN" and r["value"] == 0) for h in haptics]  # fmt: skip
        stop_ms.append((max(r["t_ns"] for r in offs) - sedge["t_ns"]) / 1e6)
    return press_ms, stop_ms


def _summary(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"p50": round(percentile(s, 50), 3), "p99": round(percentile(s, 99), 3), "n": len(s)}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


IDLE_CPU_S = 10.0


def _play_own(c: EngineClient, prog: dict[str, Any], tries: int = 5) -> dict[str, Any]:
    """Arm and start our program; the app's coordinator may arm its own session in
    between (it owns the data dir's plan), then start names the wrong session: retry."""
    for _ in range(tries):
        c.call("arm", program=prog, session_id="bench")
        try:
            c.call("start", session_id="bench")
        except RemoteError as exc:
            if exc.code in ("wrong_session", "not_armed"):
                time.sleep(0.2)
                continue
            raise
        st = _wait_state(c, ("idle", "stopped", "fault"), prog["duration_ms"] / 1000 + 10)
        t = st["timing"]
        return {k: t[k] for k in ("p50_us", "p99_us", "max_us", "missed")}
    raise RuntimeError("could not start the bench program: the app kept arming its own")


def run_bench(
    *,
    wiring: WiringConfig,
    seconds: float = 5.0,
    presses: int = 50,
    url: str | None = None,
    config: Path | None = None,
) -> dict[str, Any]:
    ms = max(1000, int(seconds * 1000) // 1000 * 1000)
    names = [h.name for h in wiring.haptic]
    if len(names) < 4 or any(h.channel is None for h in wiring.haptic[:4]):
        raise StationError("station bench needs four haptic drivers behind the mux")
    bus_time = bench_bus.spawn(config=config, seconds=seconds)
    with tempfile.TemporaryDirectory(prefix="station-bench-") as tmp:
        data = Path(tmp)
        engine = _spawn_engine(data, config)
        app: RealApp | None = None
        try:
            with EngineClient(socket_path(data), timeout=10) as c:
                time.sleep(1.0)
                cpu0, t0 = _cpu_s(engine.pid), time.monotonic()
                time.sleep(IDLE_CPU_S)
                idle_cpu = 100 * (_cpu_s(engine.pid) - cpu0) / (time.monotonic() - t0)
                # Switch-off cost (measured: arm, then disarm) is not part of playing.
                c.call("arm", program=_four_drivers(names, ms), session_id="bench")
                tx_a = c.call("sim.bus_transactions")
                c.call("disarm")
                off_tx = c.call("sim.bus_transactions") - tx_a
                c.call("arm", program=_four_drivers(names, ms), session_id="bench")
                tx0 = c.call("sim.bus_transactions")
                polls0 = c.call("status")["fault_polls"]
                seq0 = c.call("sim.trace", since=0, limit=1)["last_seq"] + 1
                idle = _play(c, _four_drivers(names, ms), armed=True)
                recs = _trace(c, seq0)
                tx = c.call("sim.bus_transactions") - tx0 - off_tx
                updates = sum(1 for r in recs if r["what"] == "RTP_INPUT")
                fp = c.call("status")["fault_polls"]
                polls = fp["count"] - polls0["count"]
                naive_grid = TimingRecorder(rate_hz=wiring.engine.rate_hz)
                naive_rel = TimingRecorder(rate_hz=wiring.engine.rate_hz)
                naive_hz = naive_loop(rate_hz=wiring.engine.rate_hz, seconds=ms / 1000,
                                      grid=naive_grid, relative=naive_rel)  # fmt: skip
                ng, nr = naive_grid.stats(), naive_rel.stats()
                load_url = url
                if load_url is None:
                    app = RealApp(data_dir=data, config=config)
                    time.sleep(1.0)  # let the app's coordinator arm its session first
                    load_url = app.url
                with LoadGenerator(url=load_url,
                                   cookie=app.cookie if app else None) as load:  # fmt: skip
                    loaded = _play_own(c, _four_drivers(names, ms))
                rss_app = _rss_mb(app.proc.pid) if app is not None else None
                if app is not None:
                    app.close()
                press_ms, stop_ms = _latencies(c, wiring, presses)
                rss: dict[str, float | None] = {"engine": _rss_mb(engine.pid), "app": rss_app}
        finally:
            if app is not None:
                app.close()
            engine.terminate()
            engine.wait(10)
    naive = {"p50_us": ng.p50_us, "p99_us": ng.p99_us, "max_us": ng.max_us,
             "missed": ng.missed, "achieved_hz": round(naive_hz, 1)}  # fmt: skip
    return {
        "loop": {
            "rate_hz": wiring.engine.rate_hz, "seconds": ms / 1000, "idle": idle,
            "loaded": {**loaded, "requests_per_s": round(load.achieved, 1),
                       "failed_requests": load.failed,
                       "url": url or f"{load_url} (station app, real)"},
            "naive": naive,
            "naive_relative": {"p50_us": nr.p50_us, "p99_us": nr.p99_us,
                               "max_us": nr.max_us},
            "naive_p99_over_idle_p99": round(ng.p99_us / max(idle["p99_us"], 1e-9), 1),
        },
        "button_to_output_ms": _summary(press_ms),
        "stop_to_silence_ms": _summary(stop_ms),
        "i2c_transactions_per_update": round(tx / max(1, updates), 3),
        "i2c_detail": {"transactions": tx, "rtp_updates": updates, "status_reads": polls,
                       "max_poll_gap_ms": fp["max_gap_ms"],
                       "switch_off_transactions_excluded": off_tx,
                       "definition": "all bus transactions from start to the end of play "
                                     "(RTP writes, mux selects, STATUS polls, others; "
                                     "not arming, not the final switch-off) / RTP writes"},
        "idle_engine_cpu_percent": round(idle_cpu, 2),
        "idle_cpu_seconds": IDLE_CPU_S,
        "rss_mb": {**rss, "total": round((rss["engine"] or 0) + (rss["app"] or 0), 1)},
        "bus_time": bus_time,
    }  # fmt: skip


def format_table(r: dict[str, Any]) -> str:
    lp = r["loop"]
    lines = [
        f"loop {lp['rate_hz']} Hz, {lp['seconds']} s per case (wake-up error, us)",
        f"{'case':15} {'p50':>9} {'p99':>9} {'max':>10} {'missed':>7}",
    ]
    for case in ("idle", "loaded", "naive", "naive_relative"):
        c = lp[case]
        missed = f"{c['missed']:7d}" if "missed" in c else f"{'-':>7}"
        lines.append(f"{case:15} {c['p50_us']:9.1f} {c['p99_us']:9.1f} {c['max_us']:10.1f} "
                     f"{missed}")  # fmt: skip
    lo = lp["loaded"]
    lines.append(f"loaded: {lo['requests_per_s']} req/s ok, {lo['failed_requests']} failed, "
                 f"to {lo['url']}")  # fmt: skip
    lines.append(f"naive p99 / idle p99: {lp['naive_p99_over_idle_p99']}x "
                 f"(naive achieved {lp['naive']['achieved_hz']} Hz)")  # fmt: skip
    for key in ("button_to_output_ms", "stop_to_silence_ms"):
        v = r[key]
        lines.append(f"{key:22} p50 {v['p50']} ms  p99 {v['p99']} ms  (n={v['n']})")
    d = r["i2c_detail"]
    lines.append(f"I2C transactions per RTP update: {r['i2c_transactions_per_update']} "
                 f"({d['transactions']} transactions / {d['rtp_updates']} RTP writes; "
                 f"{d['status_reads']} STATUS reads)")  # fmt: skip
    lines.append(f"idle engine CPU: {r['idle_engine_cpu_percent']} % of a core "
                 f"(over {r['idle_cpu_seconds']} s, nothing armed)")  # fmt: skip
    lines.append(f"RSS: engine {r['rss_mb']['engine']} MB, app {r['rss_mb']['app']} MB")
    lines += ["--", *bench_bus.format_lines(r["bus_time"])]
    lines += [
        "--",
        "wake-up error = actual wake-up - deadline k, deadline k = t0 + k * period (absolute",
        "  grid). idle/loaded: the engine playing four drivers; loaded adds the load above.",
        "  naive: sleep(period) loop, same grid (its drift counts); naive_relative: the same",
        "  loop against its own requested wake-up (previous wake + period), for context.",
        "I2C per update = every bus transaction (RTP writes, mux selects, STATUS polls, other)",
        "  while the four-driver program plays / RTP amplitude writes.",
        "bus time: one_driver = forearm alone, four_drivers = all four at once, each a",
        "  triangle that changes every tick; bus us/tick = modelled wire + host time of the",
        "  tick's transactions (RTP writes, mux selects, STATUS polls); lateness = wake-up",
        "  error of the same loop with that time spent.",
    ]
    return "\n".join(lines)
