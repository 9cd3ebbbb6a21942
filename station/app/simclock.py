"""The simulated clock: the app's "now" that can jump forward or run fast (simulator only).

Why one object owned by the app process: days, sessions per day, minimum gaps,
``advance_min_days``, reminders, the rating grace window and adherence all read "now"
from the Store's clock or the planner's, so the coordinator builds one ``SimClock`` in
simulator mode and hands its ``now`` to the Store, the planner and the reminders. Tests
and demos then run a programme's weeks in seconds (``POST /api/sim/clock``, ``station
sim clock``). On real hardware there is no SimClock: the station reads the wall clock.

The clock never runs backwards (records are ordered by time): a jump is forward only and
a rate change re-anchors at the current simulated time. How far it is ahead of the real
clock is kept in the data directory (``sim-clock.json``), so a restarted app finds its
records in the past, not in a future that refuses every start. How fast the engine plays
a program while the clock runs fast is the engine's own simulator setting
(``sim.time_scale``), which the coordinator keeps equal to the clock's rate.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from station.storage.db import utc_now

SIM_CLOCK_FILE = "sim-clock.json"  # in the data directory
MAX_ADVANCE_S = 366 * 24 * 3600  # one jump: at most a year
MAX_RATE = 1000.0  # at most 1000 simulated seconds per real second


class SimClock:
    """``now()`` = the simulated time at the last anchor + real time since, times ``rate``."""

    def __init__(
        self,
        *,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        state: Path | None = None,
    ):
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._state = state
        saved = _load(state)
        self._advanced_s = float(saved.get("advanced_s", 0.0))  # all jumps, for the page
        ahead = timedelta(seconds=float(saved.get("ahead_s", 0.0)))
        self._anchor = start or utc_now() + ahead
        if self._anchor.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start time")
        self._anchor_real = monotonic()
        self._rate = 1.0
        self._moved = bool(saved)  # only a clock that was ever moved is kept on disk

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        elapsed = max(self._monotonic() - self._anchor_real, 0.0)
        return self._anchor + timedelta(seconds=elapsed * self._rate)

    def _reanchor(self) -> None:
        self._anchor = self._now()
        self._anchor_real = self._monotonic()

    @property
    def rate(self) -> float:
        return self._rate

    def advance(self, seconds: float) -> datetime:
        """Jump forward by ``seconds`` (0 .. MAX_ADVANCE_S); returns the new now."""
        if not 0 <= seconds <= MAX_ADVANCE_S:
            raise ValueError(f"advance_s = {seconds}: allowed 0..{MAX_ADVANCE_S}")
        with self._lock:
            self._reanchor()
            self._anchor += timedelta(seconds=seconds)
            self._advanced_s += seconds
            self._moved = True
            self._save()
            return self._anchor

    def set_rate(self, rate: float) -> None:
        """Run at ``rate`` simulated seconds per real second (1 .. MAX_RATE)."""
        if not 1 <= rate <= MAX_RATE:
            raise ValueError(f"rate = {rate}: allowed 1..{MAX_RATE:g}")
        with self._lock:
            self._reanchor()
            self._rate = float(rate)
            self._moved = True
            self._save()

    def save(self) -> None:
        """Keep how far the clock is ahead of the real one (the app calls it at close)."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._state is None or not self._moved:
            return
        ahead = (self._now() - utc_now()).total_seconds()
        tmp = self._state.with_name(self._state.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"ahead_s": max(ahead, 0.0), "advanced_s": self._advanced_s}))
            os.replace(tmp, self._state)
        except OSError:  # a read-only data directory: the clock still works, unsaved
            with contextlib.suppress(OSError):
                tmp.unlink()

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            now = self._now()
            return {
                "now": now.isoformat(timespec="milliseconds"),
                "rate": self._rate,
                "advanced_s": round(self._advanced_s, 3),
                "real_now": utc_now().isoformat(timespec="milliseconds"),
            }


def _load(path: Path | None) -> dict[str, float]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
        return {k: float(data[k]) for k in ("ahead_s", "advanced_s") if k in data}
    except (OSError, ValueError, TypeError, KeyError):
        return {}
