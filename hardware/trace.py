"""The trace: every hardware write, timestamped; the ground truth of what the skin felt.

The simulator appends one record per bus transaction, pin change and PWM write. Tests,
benchmarks and the page's virtual station read it. Appending is a single ``deque.append``
(atomic under the GIL, no lock, no allocation beyond the tuple) so it is cheap enough to
sit under the engine's 1 kHz loop.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

DEFAULT_CAPACITY = 500_000


class TraceRecord(NamedTuple):
    seq: int
    t_ns: int  # time.monotonic_ns() when the write happened
    device: str  # actuator name ("forearm", "brush"), "mux", or "gpio17"
    what: str  # register ("RTP_INPUT"), "pin", "duty_cycle_ns", "select", ...
    value: int

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class Trace:
    """A bounded, append-only log of hardware writes with a monotonic sequence number."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, clock=time.monotonic_ns) -> None:
        self._records: deque[TraceRecord] = deque(maxlen=capacity)
        self._seq = itertools.count()
        self._clock = clock

    def record(self, device: str, what: str, value: int) -> None:
        self._records.append(TraceRecord(next(self._seq), self._clock(), device, what, value))

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(tuple(self._records))

    def since(self, seq: int = 0, *, limit: int | None = None) -> list[TraceRecord]:
        """Records with ``seq >= seq`` (oldest first), at most ``limit`` of them."""
        out = [r for r in tuple(self._records) if r.seq >= seq]
        return out if limit is None else out[:limit]

    def select(
        self, device: str | None = None, what: str | None = None, since_ns: int = 0
    ) -> list[TraceRecord]:
        return [
            r
            for r in tuple(self._records)
            if (device is None or r.device == device)
            and (what is None or r.what == what)
            and r.t_ns >= since_ns
        ]

    def last_seq(self) -> int:
        """Sequence number of the newest record, or -1 when empty."""
        return self._records[-1].seq if self._records else -1

    def clear(self) -> None:
        self._records.clear()
