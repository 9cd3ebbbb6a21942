"""The fixed-rate ticker: absolute deadlines, coarse sleep, then a short spin.

Why absolute deadlines: sleeping ``period`` after the work drifts (the work and the
oversleep add up; ~900 ticks/s instead of 1000) and its error compounds. Here tick ``k``
is due at ``t0 + k * period``; the ticker sleeps until ``spin_ns`` before the deadline
(the kernel's wake-up is late by tens of microseconds, more under load) and spins on the
monotonic clock for the rest. A tick that is already late runs at once; a loop more than
one period behind skips the missed deadlines (counted in ``missed``) instead of bursting.

The coarse sleep is ``threading.Event.wait`` so a stop request can wake the loop at once
(``Ticker.wake``): stop never waits for the next deadline.

Timing statistics go into a preallocated ``array`` (no allocation per tick); percentiles
are computed only when asked, outside the loop.
"""

from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass

DEFAULT_SPIN_US = 200


@dataclass(frozen=True)
class TimingStats:
    """Wake-up error against each absolute deadline, in microseconds."""

    rate_hz: int
    ticks: int
    p50_us: float
    p99_us: float
    max_us: float
    missed: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rate_hz": self.rate_hz,
            "ticks": self.ticks,
            "p50_us": round(self.p50_us, 1),
            "p99_us": round(self.p99_us, 1),
            "max_us": round(self.max_us, 1),
            "missed": self.missed,
        }


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted list; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100.0 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class TimingRecorder:
    """Wake-up errors (ns) for up to ``capacity`` ticks, kept in a preallocated array.

    ``add`` is one store and one increment; after ``capacity`` ticks it keeps the maximum
    and the miss count exact and the percentile sample is the first ``capacity`` ticks."""

    def __init__(self, *, rate_hz: int, capacity: int = 600_000) -> None:
        self.rate_hz = rate_hz
        self._errors = array("q", bytes(8 * capacity))
        self._capacity = capacity
        self.count = 0
        self.max_ns = 0
        self.missed = 0

    def reset(self) -> None:
        self.count = 0
        self.max_ns = 0
        self.missed = 0

    def add(self, error_ns: int) -> None:
        if self.count < self._capacity:
            self._errors[self.count] = error_ns
        self.count += 1
        if error_ns > self.max_ns:
            self.max_ns = error_ns

    def stats(self) -> TimingStats:
        n = min(self.count, self._capacity)
        values = sorted(self._errors[:n])
        us = [v / 1000.0 for v in values]
        return TimingStats(
            rate_hz=self.rate_hz,
            ticks=self.count,
            p50_us=percentile(us, 50),
            p99_us=percentile(us, 99),
            max_us=self.max_ns / 1000.0,
            missed=self.missed,
        )


class Ticker:
    """Waits for successive absolute deadlines ``t0 + k * period`` (monotonic ns)."""

    def __init__(
        self, *, rate_hz: int, spin_us: int = DEFAULT_SPIN_US, recorder: TimingRecorder | None
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz {rate_hz} must be positive")
        self.rate_hz = rate_hz
        self.period_ns = 1_000_000_000 // rate_hz
        self.spin_ns = spin_us * 1000
        self.recorder = recorder
        self._wake = threading.Event()
        self.t0_ns = 0
        self.deadline_ns = 0

    def start(self, t0_ns: int | None = None) -> int:
        """Begin at ``t0_ns`` (default: now); the first deadline is t0 itself."""
        self.t0_ns = time.monotonic_ns() if t0_ns is None else t0_ns
        self.deadline_ns = self.t0_ns
        return self.t0_ns

    def wake(self) -> None:
        """Cut the current coarse sleep short (used by stop requests)."""
        self._wake.set()

    def wait_next(self) -> int:
        """Advance to the next deadline and wait for it; return it (monotonic ns).

        Returns early (before the deadline) only if ``wake()`` was called; the caller
        checks its stop flags and calls ``wait_next`` again for the same deadline via
        ``wait_same``."""
        self.deadline_ns += self.period_ns
        return self._wait()

    def wait_same(self) -> int:
        return self._wait()

    def _wait(self) -> int:
        deadline = self.deadline_ns
        now = time.monotonic_ns()
        behind = now - deadline
        if behind > self.period_ns:
            # More than a whole period late: skip the missed deadlines, count them and
            # run now against the latest deadline that has passed.
            skipped = behind // self.period_ns
            deadline += skipped * self.period_ns
            self.deadline_ns = deadline
            if self.recorder is not None:
                self.recorder.missed += skipped
        coarse = deadline - self.spin_ns - now
        if coarse > 0 and self._wake.wait(coarse / 1e9):
            self._wake.clear()
            return -1
        while True:
            now = time.monotonic_ns()
            if now >= deadline:
                break
        if self.recorder is not None:
            self.recorder.add(now - deadline)
        return deadline


def naive_loop(
    *, rate_hz: int, seconds: float, grid: TimingRecorder, relative: TimingRecorder
) -> float:
    """The baseline the benchmark compares against: ``sleep(period)`` after each tick.

    Its deadlines are the same as the engine's, the ideal grid ``t0 + k * period``: tick
    ``k`` is meant to happen at ``t0 + k * period``, so ``grid`` gets ``now - (t0 + k *
    period)`` for the k-th wake-up, the engine's own definition of wake-up error. Each
    oversleep adds up, so this error grows with the run (drift counts as error, as it
    would for a stimulus). ``relative`` gets the kinder figure, the error against the
    wake-up it asked for (previous wake + period), which hides the drift. Grid deadlines
    that passed without a tick are counted in ``grid.missed``. Returns the rate it
    actually achieved (ticks per second)."""
    period_ns = 1_000_000_000 // rate_hz
    t0 = time.monotonic_ns()
    end = t0 + int(seconds * 1e9)
    now = t0
    ticks = 0
    while now < end:
        target = now + period_ns
        time.sleep(period_ns / 1e9)
        now = time.monotonic_ns()
        ticks += 1
        relative.add(now - target)
        grid.add(now - (t0 + ticks * period_ns))
    grid.missed = max(0, (now - t0) // period_ns - ticks)
    return ticks / ((now - t0) / 1e9)
