"""Simulated hardware that sits *below* the real driver libraries.

The unchanged ``adafruit_drv2605`` / ``adafruit_tca9548a`` code talks to ``SimI2CBus``,
which routes each transaction to register models (``DRV2605Model``, ``TCA9548AModel``).
So a simulator run exercises the same driver code as the Pi, and every register write
lands in the trace.

``ManualClock`` lives here because every model takes an injectable clock: tests pass one
and advance it (its ``sleep`` advances it too) so timing behaviour is deterministic.
"""

from __future__ import annotations


class ManualClock:
    """A clock that only moves when told: ``clock()`` -> ns, ``sleep(s)`` advances it.

    Pass the instance as a model's ``clock`` and ``clock.sleep`` as a driver's ``sleep`` so
    a driver that waits (EN settle time, polling GO) advances the model's time exactly.
    """

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1e9)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
