"""``station bench`` runs end to end and reports figures it measured.

Why a test for a benchmark: the bench drives the real engine with its own test programs,
so an engine rule added later (the 20 ms minimum ramp did exactly this) can make it refuse
them, and the speed figures the notes quote would silently stop being measurable. This
checks that it runs and that its figures hang together; it does not judge the speed
(timing on a shared CI machine is not a test result; the bench's own output is).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

PRESSES = 3


@pytest.mark.slow
def test_bench_runs_and_reports_consistent_measured_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "station.cli", "bench", "--json", "--seconds", "1",
         "--presses", str(PRESSES)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, f"station bench failed:\n{done.stdout}\n{done.stderr}"
    out = json.loads(done.stdout)

    loop = out["loop"]
    for case in ("idle", "loaded", "naive"):
        figures = loop[case]
        assert 0 <= figures["p50_us"] <= figures["p99_us"] <= figures["max_us"], (case, figures)
        assert figures["missed"] >= 0
    assert loop["loaded"]["requests_per_s"] > 0, "the loaded case put no load on the app"
    assert loop["loaded"]["failed_requests"] == 0, loop["loaded"]

    for name in ("button_to_output_ms", "stop_to_silence_ms"):
        latency = out[name]
        assert latency["n"] == PRESSES, (name, latency)
        assert 0 < latency["p50"] <= latency["p99"] < 1000, (name, latency)

    detail = out["i2c_detail"]
    assert detail["rtp_updates"] > 0 and detail["transactions"] >= detail["rtp_updates"]
    ratio = detail["transactions"] / detail["rtp_updates"]
    assert math.isclose(out["i2c_transactions_per_update"], ratio, abs_tol=0.001), detail

    rss = out["rss_mb"]
    assert rss["engine"] > 0 and rss["app"] > 0
    assert math.isclose(rss["total"], rss["engine"] + rss["app"], abs_tol=0.11), rss
    assert 0 <= out["idle_engine_cpu_percent"] < 100

    # --- bus time: the four-driver case next to the one-driver case (figures present and
    # consistent; their size is the bench's output, not a test result) -------------------
    bus = out["bus_time"]
    assert bus["bus"]["spend"] is True, "the bus cases must spend bus time on the clock"
    assert bus["bus"]["frequency_hz"] > 0 and bus["bus"]["host_overhead_us"] >= 0
    tick_us = 1e6 / bus["rate_hz"]
    for name, drivers in (("one_driver", 1), ("four_drivers", 4)):
        case = bus["cases"][name]
        assert case["drivers"] == drivers and case["end_state"] == "idle", case
        assert case["fault"] is None and case["ticks"] > 0 and case["rtp_writes"] > 0, case
        tx, per_tick = case["transactions_per_tick"], case["bus_us_per_tick"]
        assert 0 < tx["mean"] <= tx["worst"], case
        assert 0 < per_tick["mean"] <= per_tick["worst"], case
        assert math.isclose(per_tick["worst_percent_of_tick"],
                            100 * per_tick["worst"] / tick_us, abs_tol=0.1), case  # fmt: skip
        late = case["lateness_us"]
        assert 0 <= late["p50"] <= late["p99"] <= late["max"], case
        assert case["missed_deadlines"] >= 0
        targets = case["targets"]
        assert targets["bus_worst_percent_max"] == 60 and targets["p99_us_max"] == 100
        assert targets["bus_met"] == (per_tick["worst_percent_of_tick"] <= 60), case
        assert targets["p99_met"] == (late["p99"] <= 100), case
