"""The stall watchdog: a thread that silences the outputs when the loop stops beating.

The loop writes ``engine.heartbeat_ns`` every tick (every idle wake-up when nothing
plays). If it is older than ``engine.watchdog_ms`` this thread:

1. sets the engine's stop flag (reason "watchdog"), so the loop stops when it resumes;
2. drops every haptic driver's EN line at once, WITHOUT the lock: a GPIO write (never
   I2C, so the one-thread rule for the bus holds), the chip's hardware shutdown; so
   the haptics go quiet within the bound even when the loop is stuck holding the lock;
3. takes the engine's single hardware lock and forces every output off, so all I2C
   traffic stays serialised with the loop's (never two threads on the bus at once);
4. if the lock cannot be had within ``watchdog_ms`` (the loop is stuck INSIDE a hardware
   call, holding it) it calls ``escalate``: the engine process exits at once, the kernel
   releases the GPIO lines and the EN pull-downs switch the drivers off. In-process tests
   pass a recording callback instead.

While the drivers are off (nothing armed) there is nothing to silence: the thread then
checks every ``IDLE_CHECK_S`` against ``IDLE_BOUND_S`` (a hung loop still stops the
systemd pings) and is woken at once by ``engine.drivers_event`` when the drivers are
powered, so the tight bound applies from the first powered moment. That keeps an idle
engine from waking a hundred times a second.

It runs ABOVE the loop (``station.engine.rt.apply_watchdog_realtime``): one SCHED_FIFO
priority higher when the loop is real-time, and off the loop's CPU when the loop is
pinned, so a loop that spins (rather than sleeps) cannot starve it of the CPU; the GIL
changes hands every switch interval (tests/engine/test_watchdog_spin.py measures it).

A known long hardware job that holds the lock (auto-calibration, ~1.1 s) relaxes the bound
by setting ``engine.relaxed_until_ns``: until then the heartbeat counts as fresh, after it
the ordinary bound applies again (so a calibration that hangs is still caught, just
later), and systemd keeps being fed meanwhile.

It also feeds systemd's watchdog (``WATCHDOG=1``) while, and only while, the heartbeat is
fresh: a loop hung in C code that holds the GIL stops the pings and systemd restarts the
unit, the last layer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from station.engine.messages import WatchdogEvent
from station.engine.rt import RtResult, apply_watchdog_realtime
from station.engine.sdnotify import Notifier

log = logging.getLogger(__name__)
IDLE_CHECK_S = 0.25
IDLE_BOUND_S = 1.5  # > the idle loop's 0.5 s wake-ups; < systemd's WatchdogSec (2 s)


class Watchdog:
    def __init__(
        self,
        *,
        engine: Any,
        notifier: Notifier | None = None,
        escalate: Callable[[], None] | None = None,
        check_s: float | None = None,
    ) -> None:
        self.engine = engine
        self.bound_ns = int(engine.watchdog_ms * 1e6)
        self.check_s = check_s if check_s is not None else max(0.002, engine.watchdog_ms / 5000)
        self.notifier = notifier
        self.escalate = escalate
        self.trips = 0
        self.escalations = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tripped_beat: int | None = None
        self.rt_result = RtResult()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine-watchdog", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.engine.drivers_event.set()  # cut an idle-pace wait short
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> Watchdog:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        self.rt_result = apply_watchdog_realtime(getattr(self.engine, "rt", None))
        self.engine.watchdog_rt = self.rt_result
        ping_every = self.notifier.watchdog_interval_s() if self.notifier else None
        last_ping = 0.0
        eng = self.engine
        idle_bound_ns = max(self.bound_ns, int(IDLE_BOUND_S * 1e9))
        while not self._stop.is_set():
            if eng.drivers_on:
                self._stop.wait(self.check_s)
            else:
                eng.drivers_event.clear()
                if not eng.drivers_on:  # re-checked after clear: no lost wake-up
                    eng.drivers_event.wait(IDLE_CHECK_S)
            if self._stop.is_set():
                return
            bound = self.bound_ns if eng.drivers_on else idle_bound_ns
            beat = eng.heartbeat_ns
            fresh_from = max(beat, getattr(eng, "relaxed_until_ns", 0))
            stale = time.monotonic_ns() - fresh_from > bound
            if stale:
                if self._tripped_beat != beat:
                    self._tripped_beat = beat
                    self.trip()
                continue
            if ping_every is not None and time.monotonic() - last_ping >= ping_every:
                self.notifier.watchdog()  # type: ignore[union-attr]
                last_ping = time.monotonic()

    def trip(self) -> None:
        """Stop flag, then outputs off under the hardware lock (or escalate)."""
        eng = self.engine
        self.trips += 1
        eng.request_stop("watchdog", by=f"loop stalled > {eng.watchdog_ms} ms", hand_over=False)
        for haptic in eng.hw.haptics.values():
            with contextlib.suppress(Exception):  # EN low only; never raises
                haptic.silence()
        if eng.hw_lock.acquire(timeout=eng.watchdog_ms / 1000):
            try:
                eng.hw.all_off()
                eng.drivers_on = False
            finally:
                eng.hw_lock.release()
            eng.hub.emit(WatchdogEvent(action="outputs_off", bound_ms=eng.watchdog_ms))
            return
        self.escalations += 1
        eng.hub.emit(WatchdogEvent(action="escalate", bound_ms=eng.watchdog_ms))
        log.critical("engine: loop stuck holding the hardware lock; escalating")
        if self.escalate is not None:
            self.escalate()
