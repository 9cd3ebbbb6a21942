"""``station bench``: the engine's timing and latency figures, measured on the simulator.

It starts a real engine process (``station engine --sim``, SCHED_FIFO where allowed) in a
temporary data directory and measures, in one run:

* loop wake-up error against each absolute deadline while a program plays: ``idle`` (no
  other load), ``loaded`` (a bounded load generator sends >= 100 requests/s, half status
  polls, half page renders, to ``--url`` or to a stand-in Flask/waitress app in its own
  process, see ``standin_app``), and ``naive`` (a plain ``sleep(period)`` loop in this
  process, error against its own requested wake-up);
* button-to-output: start pin edge (simulator trace) -> first haptic write (the program
  opens with a tap, so the first write is its effect), ``presses`` times;
* stop-to-silence: stop pin edge -> last switch-off write (EN low / brush park);
* I2C bus transactions per RTP update while a program ramps four drivers in turn behind
  the mux (fault polls included in the count);
* CPU of the idle engine (nothing armed) and the resident memory of engine and app.
Everything is measured; nothing is typed in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from station.engine.ipc import EngineClient
from station.engine.loop import TimingRecorder, naive_loop, percentile
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
                raise RuntimeError(proc.stderr.read().decode()) from None
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


def _play(c: EngineClient, prog: dict[str, Any]) -> dict[str, Any]:
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
                  "duration_ms": 60000, "level": 0.5, "ramp_up_ms": 10,
                  "ramp_down_ms": 10}], 60000)  # fmt: skip
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoadGenerator:
    """``rate`` requests/s to ``url`` (alternating status poll and page), 4 threads."""

    def __init__(self, *, url: str, rate: float = 200.0) -> None:
        self.url = url.rstrip("/")
        self.rate = rate
        self.sent = self.failed = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _worker(self, k: int, n: int) -> None:
        period = n / self.rate
        nxt = time.monotonic()
        i = k
        while not self._stop.is_set():
            path = "/api/status" if i % 2 == 0 else "/"
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                    resp.read()
                self.sent += 1
            except OSError:
                self.failed += 1
            i += 1
            nxt += period
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def __enter__(self) -> LoadGenerator:
        self.t0 = time.monotonic()
        for k in range(4):
            t = threading.Thread(target=self._worker, args=(k, 4), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.achieved = self.sent / max(1e-9, time.monotonic() - self.t0)


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
    with tempfile.TemporaryDirectory(prefix="station-bench-") as tmp:
        data = Path(tmp)
        engine = _spawn_engine(data, config)
        app = None
        try:
            with EngineClient(socket_path(data), timeout=10) as c:
                time.sleep(1.0)
                cpu0, t0 = _cpu_s(engine.pid), time.monotonic()
                time.sleep(3.0)
                idle_cpu = 100 * (_cpu_s(engine.pid) - cpu0) / (time.monotonic() - t0)
                tx0 = c.call("sim.bus_transactions")
                seq0 = c.call("sim.trace", since=0, limit=1)["last_seq"] + 1
                idle = _play(c, _four_drivers(names, ms))
                recs = _trace(c, seq0)
                tx = c.call("sim.bus_transactions") - tx0
                updates = sum(1 for r in recs if r["what"] == "RTP_INPUT")
                if url is None:
                    port = _free_port()
                    app = subprocess.Popen(
                        [sys.executable, "-m", "station.engine.standin_app", str(port), tmp],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    url = f"http://127.0.0.1:{port}"
                    for _ in range(200):
                        try:
                            urllib.request.urlopen(url + "/", timeout=1).read()
                            break
                        except OSError:
                            time.sleep(0.05)
                with LoadGenerator(url=url) as load:
                    loaded = _play(c, _four_drivers(names, ms))
                naive_rec = TimingRecorder(rate_hz=wiring.engine.rate_hz)
                naive_hz = naive_loop(rate_hz=wiring.engine.rate_hz, seconds=ms / 1000,
                                      recorder=naive_rec)  # fmt: skip
                ns = naive_rec.stats()
                press_ms, stop_ms = _latencies(c, wiring, presses)
                rss = {"engine": _rss_mb(engine.pid),
                       "app": _rss_mb(app.pid) if app is not None else None}  # fmt: skip
        finally:
            if app is not None:
                app.terminate()
                app.wait(10)
            engine.terminate()
            engine.wait(10)
    return {
        "loop": {
            "rate_hz": wiring.engine.rate_hz, "seconds": ms / 1000, "idle": idle,
            "loaded": {**loaded, "requests_per_s": round(load.achieved, 1),
                       "failed_requests": load.failed, "url": url},
            "naive": {"p50_us": ns.p50_us, "p99_us": ns.p99_us, "max_us": ns.max_us,
                      "missed": ns.missed, "achieved_hz": round(naive_hz, 1)},
        },
        "button_to_output_ms": _summary(press_ms),
        "stop_to_silence_ms": _summary(stop_ms),
        "i2c_transactions_per_update": round(tx / max(1, updates), 3),
        "i2c_detail": {"transactions": tx, "rtp_updates": updates},
        "idle_engine_cpu_percent": round(idle_cpu, 2),
        "rss_mb": {**rss, "total": round(rss["engine"] + (rss["app"] or 0), 1)},
    }  # fmt: skip


def format_table(r: dict[str, Any]) -> str:
    lp = r["loop"]
    lines = [
        f"loop {lp['rate_hz']} Hz, {lp['seconds']} s per case (wake-up error, us)",
        f"{'case':8} {'p50':>9} {'p99':>9} {'max':>10} {'missed':>7}",
    ]
    for case in ("idle", "loaded", "naive"):
        c = lp[case]
        lines.append(f"{case:8} {c['p50_us']:9.1f} {c['p99_us']:9.1f} {c['max_us']:10.1f} "
                     f"{c['missed']:7d}")  # fmt: skip
    lines.append(f"loaded: {lp['loaded']['requests_per_s']} req/s to {lp['loaded']['url']}")
    for key in ("button_to_output_ms", "stop_to_silence_ms"):
        v = r[key]
        lines.append(f"{key:22} p50 {v['p50']} ms  p99 {v['p99']} ms  (n={v['n']})")
    lines.append(f"I2C transactions per RTP update: {r['i2c_transactions_per_update']}")
    lines.append(f"idle engine CPU: {r['idle_engine_cpu_percent']} % of a core")
    lines.append(f"RSS: engine {r['rss_mb']['engine']} MB, app {r['rss_mb']['app']} MB")
    return "\n".join(lines)
