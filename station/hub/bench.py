"""``station hub bench``: N simulated stations publish D days of records each (accelerated
time: a day's records are generated at once) through a local Mosquitto to the hub's
ingest workers (SQLite or ``--database``), with 1 and 2 workers.

Reported per worker count: ingest throughput (records stored / seconds from the first
publish to the last commit), end-to-end lag (publish -> committed at the hub; p50, p99,
max), the workers' peak memory (VmHWM), and lost / duplicated records (what the stations
published, by global id, against what the hub holds). The stations offer ``--rate``
records/s together (0: as fast as they can publish), so the lag is measured at a stated
load rather than behind an unbounded queue.

The broker here is plain MQTT on loopback without TLS or passwords (what is measured is
the hub); Mosquitto must be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from station.errors import StationError
from station.hub import messages as m
from station.hub.broker import Broker
from station.hub.service import start_workers, stop_workers
from station.hub.simstation import SimStation
from station.hub.store import HubStore

CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 2000
log_dest none
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_once(
    *, stations: int, days: int, workers: int, rate: float, database: str | None, tmp: Path
) -> dict[str, Any]:
    port = _free_port()
    conf = tmp / f"bench-{workers}.conf"
    conf.write_text(CONF.format(port=port))
    broker_proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data_dir = tmp / f"hub-{workers}"
    procs: list[Any] = []
    sims: list[SimStation] = []
    try:
        time.sleep(0.5)
        url = f"mqtt://127.0.0.1:{port}"
        store = HubStore.open(database=database, data_dir=data_dir)
        procs = start_workers(
            broker_url=url, data_dir=data_dir, database=database, workers=workers, name="bench"
        )
        broker = Broker(host="127.0.0.1", port=port)
        sims = [
            SimStation(station_id=f"st-{i:04d}", broker=broker, seed=i) for i in range(stations)
        ]
        for s in sims:
            s.start_client()
        for s in sims:
            if not s.connected.wait(30):
                raise StationError(f"{s.station_id} could not connect to the bench broker")
        probe = sims[0]
        probe.record(
            m.JournalRecord(station_id=probe.station_id, patient_id=probe.patients[0], text="probe")
        )
        _wait(lambda: probe.pending() == 0, 60, probe.resend, "the hub workers to subscribe")
        base = store.count()
        plan = [(s, rec) for d in range(days) for s in sims for rec in s.day(d)]
        total = len(plan)
        t0 = time.time()
        for n, (s, rec) in enumerate(plan):
            s.record(rec)
            if rate > 0 and n % 50 == 49:
                ahead = t0 + (n + 1) / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        publish_s = time.time() - t0

        def _resend() -> None:
            for s in sims:
                s.resend(older_than_s=20.0)

        _wait(lambda: store.count() >= base + total, 600, _resend, "every record at the hub")
        memory = [_hwm_mb(p.pid) for p in procs]
        rows = store.ids()
        sent = {rid: t for s in sims for rid, t in s.first_sent.items()}
        published = {str(rec.id) for _s, rec in plan}
        stored = {rid: t for rid, t in rows if rid in published}
        lags = [stored[rid] - sent[m_id] for m_id in sent if (rid := str(m_id)) in stored]
        last = max(stored.values())
        store.close()
        return {
            "workers": workers,
            "stations": stations,
            "days": days,
            "records": total,
            "offered_rate": rate or None,
            "publish_s": round(publish_s, 2),
            "records_per_s": round(total / (last - t0), 1),
            "lag_p50_s": round(_pct(lags, 0.50), 3),
            "lag_p99_s": round(_pct(lags, 0.99), 3),
            "lag_max_s": round(max(lags), 3),
            "worker_peak_rss_mb": [round(x, 1) for x in memory],
            "lost": len(published - set(stored)),
            "duplicated": len(rows) - len({rid for rid, _t in rows}),
        }
    finally:
        for s in sims:
            s.stop_client()
        stop_workers(procs)
        os.killpg(broker_proc.pid, signal.SIGKILL)
        broker_proc.wait()


def _wait(check: Any, timeout: float, nudge: Any, what: str) -> None:
    deadline = time.monotonic() + timeout
    last_nudge = time.monotonic()
    while not check():
        if time.monotonic() > deadline:
            raise StationError(f"bench: timed out waiting for {what}")
        if time.monotonic() - last_nudge > 5:
            nudge()
            last_nudge = time.monotonic()
        time.sleep(0.2)


def main(
    *,
    stations: int,
    days: int,
    workers: list[int],
    rate: float,
    database: str | None,
    as_json: bool,
) -> int:
    if shutil.which("mosquitto") is None:
        raise StationError("the bench needs Mosquitto: sudo apt-get install mosquitto")
    results = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        for n in workers:
            result = run_once(
                stations=stations, days=days, workers=n, rate=rate, database=database, tmp=Path(tmp)
            )
            results.append(result)
            if not as_json:
                print(
                    f"{n} worker(s): {result['records']} records from {stations} stations x "
                    f"{days} days: {result['records_per_s']} records/s, lag p50 "
                    f"{result['lag_p50_s']} s p99 {result['lag_p99_s']} s max "
                    f"{result['lag_max_s']} s, worker memory {result['worker_peak_rss_mb']} MB, "
                    f"lost {result['lost']}, duplicated {result['duplicated']}",
                    flush=True,
                )
    if as_json:
        print(json.dumps(results, indent=1))
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 for r in results)
    return 0 if ok else 1
