"""Driving simulated stations in tests: publish days of records, re-send what the hub has
not acknowledged (as the real outbox does), wait until every record is acknowledged."""

from __future__ import annotations

import time

from station.hub.simstation import SimStation


def publish_days(station: SimStation, days: range) -> list:
    records = [rec for d in days for rec in station.day(d)]
    for rec in records:
        station.record(rec)
    return records


def drain(*stations: SimStation, timeout: float = 60.0, resend_after: float = 3.0) -> None:
    """Until every station's outbox is empty (the hub's Stored named every record)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.pending() == 0 for s in stations):
            return
        for s in stations:
            if s.connected.is_set():
                s.resend(older_than_s=resend_after)
        time.sleep(0.2)
    left = {s.station_id: s.pending() for s in stations}
    raise AssertionError(f"records still unacknowledged by the hub after {timeout} s: {left}")
