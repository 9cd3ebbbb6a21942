"""When to read each DRV2605's STATUS register: bounded, and cheap on a multiplexed bus.

Why a schedule and not round-robin: behind the TCA9548A every access to a channel other
than the selected one costs a select write, and the next RTP write to the driver that
was playing costs another. Reading one driver every 25 ms in turn made three
transactions out of every poll (select, read, re-select): ~12 % on top of the RTP writes.

The rule (all times on the engine's monotonic clock, checked every tick while playing
and every idle wake-up while armed or paused):

* a driver that drove at any time since its last poll (RTP code > 0, or a ROM effect
  started less than ``EFFECT_MAX_MS`` ago) is polled again within ``DRIVE_BOUND_MS``
  (50 ms, half the old 100 ms per driver). Over-temperature and over-current arise only
  while a chip drives and are latched until read, so a flag raised during a burst is
  read within 50 ms even when the burst has ended;
* a powered driver that has not driven since its last poll is polled within
  ``QUIET_BOUND_MS`` (200 ms; the old round-robin gave every driver 100 ms). At RTP 0 it
  drives nothing, so it cannot overheat or over-current; the poll only finds a chip that
  stopped answering, and any write to it fails at once anyway, before it drives. This is
  the one trade: a dead idle driver is reported up to 200 ms after it died, not 100 ms;
* drivers whose EN is low are never polled (``check_faults`` makes no bus access then;
  the engine polls only while ``drivers_on``).

Cheap: a poll is made while the driver's channel is already selected wherever possible.
``wrote`` (called by the player right after a write to a driver) polls that driver when
its poll is ``PIGGYBACK`` of the way to due; a poll that falls due anyway is made first
for the driver last accessed (its channel is selected: one read), and a sweep that must
select other channels also takes every driver that is at least half-way to due, so one
re-select is shared among them.

Bounds are hard as long as ``tick`` is called at least every ``margin_ns`` (a poll is
made when a driver is within ``margin_ns`` of its bound). Called from the loop thread
only, with the hardware lock held.
"""

from __future__ import annotations

from typing import Any

from station.errors import HardwareError

DRIVE_BOUND_MS = 50.0
QUIET_BOUND_MS = 200.0
EFFECT_MAX_MS = 1100.0  # the longest DRV2605 ROM effect (with its braking) is ~1 s
PIGGYBACK = 0.8


class FaultPoller:
    """Schedules ``check_faults`` over the haptic drivers ``haptics`` (name -> Haptic)."""

    def __init__(
        self,
        *,
        haptics: dict[str, Any],
        drive_bound_ms: float = DRIVE_BOUND_MS,
        quiet_bound_ms: float = QUIET_BOUND_MS,
    ) -> None:
        self.names = list(haptics)
        self.index = {n: i for i, n in enumerate(self.names)}
        self._drivers = [haptics[n] for n in self.names]
        self.drive_ns = int(drive_bound_ms * 1e6)
        self.quiet_ns = int(quiet_bound_ms * 1e6)
        self._effect_ns = int(EFFECT_MAX_MS * 1e6)
        n = len(self.names)
        self._last = [0] * n  # ns of the last poll
        self._drove = [False] * n  # drove at any time since the last poll
        self._level = [0] * n  # last RTP code written
        self._effect_until = [0] * n
        self._selected = -1  # driver accessed last (its mux channel is selected)
        self.now_ns = 0
        self.polls = 0
        self.max_gap_ns = 0  # the longest time between two polls of one driver seen

    def reset(self, now_ns: int) -> None:
        """Drivers just (re)started: RTP 0, nothing latched worth reading yet."""
        n = len(self.names)
        for i in range(n):
            self._last[i] = now_ns
            self._drove[i] = False
            self._level[i] = 0
            self._effect_until[i] = 0
        self._selected = -1
        self.now_ns = now_ns

    def _bound(self, i: int) -> int:
        if self._drove[i] or self._level[i] > 0 or self._effect_until[i] > self.now_ns:
            return self.drive_ns
        return self.quiet_ns

    def _poll(self, i: int) -> None:
        now = self.now_ns
        gap = now - self._last[i]
        if gap > self.max_gap_ns:
            self.max_gap_ns = gap
        self._last[i] = now
        self._drove[i] = self._level[i] > 0 or self._effect_until[i] > now
        self._selected = i
        self.polls += 1
        msg = self._drivers[i].check_faults()
        if msg:
            raise HardwareError(self.names[i], f"the driver reports {msg}")

    # --- called by the player right after a write (the driver's channel is selected) ---
    def wrote(self, i: int, code: int) -> None:
        self._level[i] = code
        if code > 0:
            self._drove[i] = True
        self._selected = i
        if self.now_ns - self._last[i] >= PIGGYBACK * self._bound(i):
            self._poll(i)

    def effect(self, i: int) -> None:
        self._drove[i] = True
        self._effect_until[i] = self.now_ns + self._effect_ns
        self._selected = i
        if self.now_ns - self._last[i] >= PIGGYBACK * self._bound(i):
            self._poll(i)

    def slot(self, phase: int, period: int) -> None:
        """The player's RTP update slot ``phase`` (of ``period``) was this tick: read STATUS
        of the drivers on that slot that are ``PIGGYBACK`` of the way to due. Polls then
        follow the player's staggered RTP grid (one or two drivers a tick) instead of
        bunching into one sweep of every idle driver, which cost 7 transactions (~0.9 ms of
        a 1 ms tick at 400 kHz); ``tick``'s sweep stays the backstop for the bounds."""
        for i in range(phase, len(self._last), period):
            if self.now_ns - self._last[i] >= PIGGYBACK * self._bound(i):
                self._poll(i)

    # --- called every tick / idle wake-up -----------------------------------------------
    def tick(self, now_ns: int, margin_ns: int) -> None:
        """Poll whatever would pass its bound before the next call (``margin_ns`` away)."""
        self.now_ns = now_ns
        last = self._last
        due = False
        for i in range(len(last)):
            if now_ns - last[i] >= self._bound(i) - margin_ns:
                due = True
                break
        if not due:
            return
        sel = self._selected
        if sel >= 0 and now_ns - last[sel] >= self._bound(sel) // 2:
            self._poll(sel)  # no select needed: do it before the sweep moves the mux
        for i in range(len(last)):
            if i != sel and now_ns - last[i] >= self._bound(i) // 2:
                self._poll(i)
        if sel >= 0 and now_ns - last[sel] >= self._bound(sel) - margin_ns:
            self._poll(sel)  # was not half-way above, but due now
