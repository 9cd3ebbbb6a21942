"""Approximate durations and strengths of the DRV2605 ROM effects (TS2200 library A).

APPROXIMATE: TI publishes effect names and strengths, not exact waveform lengths, and the
real length depends on the library, the actuator and the overdrive/sustain/brake time
offsets. These figures (clicks ~20-60 ms, double/triple clicks longer, buzzes and hums
~250-500 ms, ramps 250/500/1000 ms, 15 = 750 ms alert, 16 = 1000 ms alert) exist so the
simulator clears GO after a plausible time; do not use them for clinical timing.
Strength is the fraction of full scale the effect reaches (its average for ramps).
"""

from __future__ import annotations

# (duration ms, strength 0..1) by effect id 1..123.
EFFECTS: dict[int, tuple[int, float]] = {}


def _put(first: int, ms: int, strengths: tuple[float, ...]) -> None:
    for i, strength in enumerate(strengths):
        EFFECTS[first + i] = (ms, strength)


_put(1, 50, (1.0, 0.6, 0.3))  # Strong Click 100/60/30 %
_put(4, 30, (1.0, 0.6, 0.3))  # Sharp Click
_put(7, 60, (1.0, 0.6, 0.3))  # Soft Bump
_put(10, 150, (1.0, 0.6))  # Double Click
_put(12, 230, (1.0,))  # Triple Click
_put(13, 120, (0.6,))  # Soft Fuzz
_put(14, 300, (1.0,))  # Strong Buzz
_put(15, 750, (1.0,))  # 750 ms Alert
_put(16, 1000, (1.0,))  # 1000 ms Alert
_put(17, 50, (1.0, 0.8, 0.6, 0.3))  # Strong Click 1..4
_put(21, 40, (1.0, 0.8, 0.6))  # Medium Click 1..3
_put(24, 20, (1.0, 0.8, 0.6))  # Sharp Tick 1..3
_put(27, 120, (1.0, 0.8, 0.6, 0.3))  # Short Double Click Strong 1..4
_put(31, 110, (1.0, 0.8, 0.6))  # Short Double Click Medium 1..3
_put(34, 80, (1.0, 0.8, 0.6))  # Short Double Sharp Tick 1..3
_put(37, 200, (1.0, 0.8, 0.6, 0.3))  # Long Double Sharp Click Strong 1..4
_put(41, 190, (1.0, 0.8, 0.6))  # Long Double Sharp Click Medium 1..3
_put(44, 160, (1.0, 0.8, 0.6))  # Long Double Sharp Tick 1..3
_put(47, 250, (1.0, 0.8, 0.6, 0.4, 0.2))  # Buzz 1..5
_put(52, 500, (1.0, 0.6))  # Pulsing Strong 1..2
_put(54, 500, (1.0, 0.6))  # Pulsing Medium 1..2
_put(56, 400, (1.0, 0.6))  # Pulsing Sharp 1..2
_put(58, 30, (1.0, 0.8, 0.6, 0.4, 0.2, 0.1))  # Transition Click 1..6
_put(64, 250, (1.0, 0.8, 0.6, 0.4, 0.2, 0.1))  # Transition Hum 1..6
# Ramps: long / medium / short, smooth then sharp, two variants each.
for _base, _strength in ((70, 0.5), (82, 0.5), (94, 0.25), (106, 0.25)):
    for _k, _ms in enumerate((1000, 500, 250, 1000, 500, 250)):
        _put(_base + 2 * _k, _ms, (_strength, _strength))
_put(118, 1500, (1.0,))  # Long buzz for programmatic stopping
_put(119, 500, (0.5, 0.4, 0.3, 0.2, 0.1))  # Smooth Hum 1..5

assert sorted(EFFECTS) == list(range(1, 124)), "effect table must cover ids 1..123"

UNKNOWN_EFFECT = (50, 0.5)  # ids 124..127: reserved; treat as a short click
