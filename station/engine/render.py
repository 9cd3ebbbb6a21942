"""Pure rendering: (segment, program time) -> setpoint. No hardware, no clock, no state.

Amplitude and tap segments are rendered here; brush segments are laid out on their brush
and rendered by ``station.engine.brushpath`` (the motion of the arm on and off the skin).

The engine calls these every tick for every active segment, so they are small closed-form
functions of time: the same time always gives the same setpoint, which is what lets the
fidelity tests compare the simulator's trace against the program exactly.

Times are float milliseconds from the start of the program (ticks fall between whole ms).
Levels are fractions of full scale (already limited by the compiler); ``rtp_code`` turns a
level into the DRV2605's signed RTP code (0..127, never negative: see hardware/README.md,
"The drive that reaches the skin").
"""

from __future__ import annotations

import math

from station.program import AmplitudeSegment, TapSegment

# Signed RTP (CONTROL3 DATA_FORMAT_RTP = 0): 0x00 is no drive and 0x7F full scale in every
# loop mode the DRV2605L has (open loop: OD_CLAMP; closed loop: RATED_VOLTAGE), so the
# station only ever writes 0..127 and a zero is silence whatever the chip's loop settings.
RTP_FULL_SCALE = 127
# A level that is exactly k/127 must give k, not k-1, after float rounding.
_EPS = 1e-9


def rtp_code(level: float) -> int:
    """Signed RTP code (0..127) for a level (0..1), rounded DOWN to a step, so the code
    never stands for more than the level (a 50 % cap gives 63/127 = 49.6 %, not 50.4 %)."""
    if level <= 0.0:
        return 0
    if level >= 1.0:
        return RTP_FULL_SCALE
    return int(level * RTP_FULL_SCALE + _EPS)


def code_level(code: int) -> float:
    """The fraction of full scale a signed RTP code 0..127 drives (the inverse of
    ``rtp_code`` on whole steps)."""
    return code / RTP_FULL_SCALE


def _burst_envelope(phase_ms: float, on_ms: float, up_ms: float, down_ms: float) -> float:
    """0..1 inside one burst of length ``on_ms``: linear ramp up, hold, linear ramp down.

    When the ramps do not fit in the burst they are scaled down together, so the envelope
    is a (lower) triangle instead of a step: never a jump."""
    if phase_ms < 0.0 or phase_ms >= on_ms:
        return 0.0
    if up_ms + down_ms > on_ms:
        scale = on_ms / (up_ms + down_ms)
        up_ms *= scale
        down_ms *= scale
    rising = phase_ms / up_ms if up_ms > 0 else 1.0
    falling = (on_ms - phase_ms) / down_ms if down_ms > 0 else 1.0
    return min(1.0, rising, falling)


def amplitude_level(seg: AmplitudeSegment, t_ms: float) -> float:
    """The commanded level of an amplitude segment at program time ``t_ms`` (0 outside).

    Without ``on_ms`` the whole segment is one burst (ramp up at its start, ramp down to
    its end). With ``on_ms``/``off_ms`` it repeats bursts of ``on_ms`` every
    ``on_ms + off_ms``, each ramped; a last burst cut by the segment's end still ramps
    down, because the ramp is computed against the earlier of burst end and segment end."""
    rel = t_ms - seg.start_ms
    if rel < 0.0 or rel >= seg.duration_ms:
        return 0.0
    if seg.on_ms is None:
        env = _burst_envelope(rel, seg.duration_ms, seg.ramp_up_ms, seg.ramp_down_ms)
        return seg.level * env
    period = seg.on_ms + (seg.off_ms or 0)
    burst_start = math.floor(rel / period) * period
    on_ms = min(seg.on_ms, seg.duration_ms - burst_start)
    env = _burst_envelope(rel - burst_start, on_ms, seg.ramp_up_ms, seg.ramp_down_ms)
    return seg.level * env


def tap_times(seg: TapSegment) -> list[int]:
    """Every tap of a tap segment, in program ms: ``start_ms + k * interval_ms`` < end."""
    return list(range(seg.start_ms, seg.end_ms, seg.interval_ms))


def taps_due(seg: TapSegment, after_ms: float, upto_ms: float) -> int:
    """How many taps fall in the half-open window (after_ms, upto_ms].

    The engine asks this with the previous and the current tick time, so a tap is played
    exactly once even when a tick is late or skipped (then it plays on the next tick)."""
    lo = max(after_ms, seg.start_ms - 1e-9)
    hi = min(upto_ms, seg.end_ms - 1e-9)
    if hi <= lo:
        return 0
    first = math.floor((lo - seg.start_ms) / seg.interval_ms) + 1
    last = math.floor((hi - seg.start_ms) / seg.interval_ms)
    return max(0, last - max(first, 0) + 1)
