"""One duty-cycle write per PWM frame: ``DutyPacer``.

Why: the PWM block takes a new duty cycle at the next period boundary, so at 50 Hz only
one value in 20 ms ever reaches the servo; the engine's 1 kHz loop would otherwise make
twenty sysfs writes a frame for nothing. A newer setpoint inside the frame replaces the
pending one and goes out when the frame allows; a park (every stop) is written at once
and discards anything pending. Works on any ``hardware.pwm.PWMChannel`` (sysfs or sim).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hardware.pwm import PWMChannel

# The flusher leaves a pending duty to the caller while calls keep coming (the engine's
# next tick then writes its own, fresher setpoint); it writes only when no call came for
# this long after the frame opened: two ticks of the 1 kHz loop.
FLUSH_GRACE_NS = 2_000_000


class DutyPacer:
    """At most one duty-cycle write per PWM frame on ``pwm``; a stop's write goes at once.

    ``request(duty)`` writes now when a whole frame (``frame_ns``, the PWM period) has
    passed since the last write; otherwise ``duty`` becomes the pending value, replacing
    any older one, and goes out at the first ``request``/``flush`` once the frame allows,
    or from a small flusher thread (``background=True``) once the frame is open and no
    call came for ``FLUSH_GRACE_NS``, so the last setpoint of a move is always written
    even when no further call comes, while a caller that keeps calling writes its own
    current setpoint rather than one a tick old.
    ``write_now(duty)`` (park, every stop) discards whatever is pending and writes at once:
    stop always wins, and a stale pending setpoint can never follow a park.
    """

    def __init__(
        self,
        pwm: PWMChannel,
        *,
        frame_ns: int | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        background: bool = True,
    ) -> None:
        self._pwm = pwm
        self.frame_ns = int(frame_ns if frame_ns is not None else pwm.period_ns)
        if self.frame_ns <= 0:
            raise ValueError(f"frame_ns = {self.frame_ns}: must be above 0 (the PWM period)")
        self._clock = clock
        self._background = background
        self._cond = threading.Condition(threading.Lock())
        self._pending: int | None = None
        self._pending_at = 0  # when the pending duty was asked for
        # The oldest a duty ever was when it went out (ns from its request to its write):
        # 0 for a write at the request itself; a pending one waits for its frame, and the
        # flusher's for the caller's silence. A measured figure for reading a trace.
        self.max_age_ns = 0
        self._last_ns: int | None = None  # when the last duty write went out
        self._last_call_ns = 0  # when request() was last called
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int | None:
        """The duty (ns) waiting for its frame, or None."""
        return self._pending

    def _check(self, duty_ns: int) -> int:
        duty = int(duty_ns)
        period = self._pwm.period_ns
        if not 0 <= duty <= period:
            raise ValueError(f"duty_cycle_ns = {duty}: must be 0..{period} (the PWM period)")
        return duty

    def _write(self, duty: int, now: int) -> None:
        if duty != self._pwm.duty_cycle_ns:
            self._pwm.set_duty_cycle_ns(duty)
            self._last_ns = now

    def _frame_open(self, now: int) -> bool:
        return self._last_ns is None or now - self._last_ns >= self.frame_ns

    def request(self, duty_ns: int) -> None:
        """Ask for ``duty_ns``: written now if this frame has had no write, else pending.
        A value outside 0..period raises ValueError at once (nothing is written)."""
        duty = self._check(duty_ns)
        with self._cond:
            now = self._clock()
            self._last_call_ns = now
            if self._frame_open(now):
                self._pending = None
                self._write(duty, now)
                return
            # Back to what the servo already has: nothing needs to go out.
            was_idle = self._pending is None
            self._pending = None if duty == self._pwm.duty_cycle_ns else duty
            self._pending_at = now
            if self._pending is not None and was_idle and self._background and not self._closed:
                # Wake the flusher only when it sleeps with nothing to do: a later call only
                # moves its due time later, which it works out when it wakes.
                self._ensure_thread()
                self._cond.notify()

    def flush(self) -> bool:
        """Write the pending duty if its frame has come; True when it was written."""
        with self._cond:
            return self._flush_locked(self._clock())

    def _flush_locked(self, now: int) -> bool:
        if self._pending is None or not self._frame_open(now):
            return False
        duty, self._pending = self._pending, None
        self.max_age_ns = max(self.max_age_ns, now - self._pending_at)
        self._write(duty, now)
        return True

    def write_now(self, duty_ns: int) -> None:
        """Discard anything pending and write ``duty_ns`` at once (park, stop)."""
        duty = self._check(duty_ns)
        with self._cond:
            self._pending = None
            self._write(duty, self._clock())

    def discard(self) -> None:
        """Forget a pending duty without writing it."""
        with self._cond:
            self._pending = None

    def close(self) -> None:
        """Drop anything pending and stop the flusher thread. Safe to call twice."""
        with self._cond:
            self._pending = None
            self._closed = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    # -- the flusher thread: sleeps until a pending duty's frame opens ------------------
    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pwm-duty-pacer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._pending is None:
                    self._cond.wait()
                    continue
                now = self._clock()
                due = max(
                    self._last_ns + self.frame_ns if self._last_ns is not None else now,
                    self._last_call_ns + FLUSH_GRACE_NS,
                )
                wait_ns = due - now
                if wait_ns > 0:
                    self._cond.wait(wait_ns / 1e9)
                    continue
                with contextlib.suppress(Exception):  # the next request reports errors
                    self._flush_locked(self._clock())
