#!/usr/bin/env python3
"""Stop-to-silence under an anonymous request flood, through HAProxy (issue 13).

Starts the station as on a Pi (tests/stopstack.py: engine on the simulator, app, stop
listener, HAProxy with the generated config), floods the page at RATE requests a second
(anonymous GET / and /api/status over HTTPS, spread over 20 addresses so the per-address
limit lets it all through to the app), and times N page stops from the press to the
moment the simulator reports every output off. Prints p50/p99/max.

    .venv/bin/python tools/bench_stop_flood.py [--rate 200] [--stops 30] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import stopstack

THREADS = 20


def flood(stack: stopstack.Stack, rate: float, done: threading.Event, counts: dict) -> None:
    def worker(i: int) -> None:
        period = THREADS / rate
        conn = None
        nxt = time.monotonic()
        while not done.is_set():
            nxt += period
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(
                        "localhost",
                        stack.https_port,
                        timeout=10,
                        source_address=(f"127.0.0.{40 + i}", 0),
                        context=stack.tls_context(),
                    )
                conn.request("GET", "/" if i % 2 else "/api/status")
                r = conn.getresponse()
                r.read()
                counts[r.status] = counts.get(r.status, 0) + 1
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):  # the proxy may cut a connection
                counts["error"] = counts.get("error", 0) + 1
                conn = None
            time.sleep(max(0.0, nxt - time.monotonic()))

    for i in range(THREADS):
        threading.Thread(target=worker, args=(i,), daemon=True).start()


def page_stop(stack: stopstack.Stack) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(
        NoRedirect(), urllib.request.HTTPSHandler(context=stack.tls_context())
    )
    try:
        opener.open(urllib.request.Request(stack.url("/stop"), data=b"", method="POST"), timeout=5)
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="flood requests per second")
    ap.add_argument("--stops", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with stopstack.running(Path(tempfile.mkdtemp(prefix="stop-flood-"))) as stack:
        done = threading.Event()
        counts: dict = {}
        flood(stack, args.rate, done, counts)
        time.sleep(2)  # the flood in full swing
        t_flood = time.monotonic()
        n_flood0 = sum(counts.values())
        times = []
        try:
            for _ in range(args.stops):
                stack.start_session()
                time.sleep(0.3)
                t0 = time.monotonic()
                page_stop(stack)
                times.append(stack.silence_s(t0) * 1000)
        finally:
            achieved = (sum(counts.values()) - n_flood0) / (time.monotonic() - t_flood)
            done.set()
    times.sort()
    result = {
        "stops": len(times),
        "flood_rate_asked": args.rate,
        "flood_rate_achieved": round(achieved, 1),
        "flood_answers": counts,
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 1),
        "max_ms": round(times[-1], 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"stop-to-silence over {len(times)} page stops through HAProxy, under a "
            f"{achieved:.0f} req/s anonymous flood (asked {args.rate:.0f}; answers {counts}):"
        )
        print(
            f"  p50 {result['p50_ms']} ms   p99 {result['p99_ms']} ms   max {result['max_ms']} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
