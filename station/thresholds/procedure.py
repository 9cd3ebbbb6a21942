"""Adaptive psychophysical procedures for one haptic actuator: pure logic, no I/O.

Why a transformed up-down staircase and not QUEST+: ``questplus`` (PyPI, 2023.1) needs
numpy, scipy, xarray and json-tricks, about 100 MB of wheels for a Raspberry Pi whose
station has no numpy at all, to choose the next of a few dozen levels. The staircase is a
few lines, its behaviour is fully predictable (each level follows from the last answer),
and its convergence is textbook:

* ``Staircase`` (detection threshold): Levitt's transformed up-down method (H. Levitt,
  "Transformed up-down methods in psychoacoustics", J. Acoust. Soc. Am. 49(2B):467-477,
  1971). With ``down=1`` (the default) it is the simple 1-up/1-down rule, which
  converges on the level felt on **50 %** of trials, the classical definition of a
  yes/no detection threshold (Levitt Table I; Dixon & Mood 1948); ``down=2`` is the
  1-up/2-down rule, converging on **70.7 %**. Steps are multiplicative (a constant ratio,
  as thresholds vary in proportion): the ratio shrinks at each reversal through
  ``step_factors`` (2, 1.41, 1.19, 1.12: 6, 3, 1.5 and 1 dB) and the threshold is the
  geometric mean of the last ``final_reversals`` reversal levels taken at the smallest
  step (Levitt: "the average of the peaks and valleys"), usually 15-25 trials.
  It starts LOW and ascends (``start`` defaults to ``floor``-ish 0.02 of full scale): for
  a patient with allodynia the first stimuli are the weakest, never a strong one.
* ``AscendingSeries`` (tolerance probe): the ascending method of limits. The level rises
  by a fixed ratio each trial ("is this still manageable?") and stops at the first "no";
  the proposal is the last level answered "manageable" (where touch is just manageable).

Both never present a level above ``ceiling`` (the caller passes min(device limit,
clinician cap, patient cap)) or below ``floor``; the caller turns each level into a short
ramped stimulus from silence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

DETECTION_METHOD = "staircase-1up-{down}down"
TOLERANCE_METHOD = "ascending-limits"
RTP_STEP = 1 / 127  # one signed RTP code: no level below this means anything physically


def _check_levels(*, start: float, floor: float, ceiling: float) -> None:
    if not 0 < floor <= ceiling <= 1:
        raise ValueError(f"need 0 < floor ({floor}) <= ceiling ({ceiling}) <= 1")
    if not floor <= start <= ceiling:
        raise ValueError(f"start {start} must lie in floor..ceiling ({floor}..{ceiling})")


@dataclass
class _Procedure:
    """What both procedures share: trials at levels within floor..ceiling, from a low start;
    a subclass says what a trial's answer does (``record``) and when it is over (``outcome``)."""

    ceiling: float
    start: float = 0.02
    floor: float = 0.01
    max_trials: int = 25
    level: float = field(init=False)
    trials: list[tuple[float, bool]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.start = min(max(self.start, self.floor), self.ceiling)
        _check_levels(start=self.start, floor=self.floor, ceiling=self.ceiling)
        self.level = self.start

    @property
    def outcome(self) -> str:
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        return self.outcome != "measuring"

    def next_level(self) -> float:
        """The level of the next trial, fraction of full scale."""
        if self.finished:
            raise RuntimeError(f"the {type(self).__name__} has finished; read result()")
        return self.level


@dataclass
class Staircase(_Procedure):
    """A transformed up-down staircase (see the module docstring)."""

    down: Literal[1, 2] = 1
    step_factors: tuple[float, ...] = (2.0, 1.41, 1.19, 1.12)
    final_reversals: int = 8
    max_trials: int = 60
    ceiling_misses: int = 3  # "not felt" this many times in a row at the ceiling: stop
    floor_hits: int = 3  # "felt" this many times in a row at the floor: stop
    reversals: list[float] = field(init=False, default_factory=list)
    _direction: int = field(init=False, default=0)
    _streak: int = field(init=False, default=0)
    _reversals_at_final: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(f <= 1 for f in self.step_factors) or not self.step_factors:
            raise ValueError("step_factors must be ratios above 1")

    @property
    def method(self) -> str:
        return DETECTION_METHOD.format(down=self.down)

    @property
    def target(self) -> float:
        """The probability of "felt" the rule converges on (Levitt 1971, Table I)."""
        return 0.5 ** (1 / self.down)

    def record(self, *, felt: bool) -> None:
        """The patient's answer to the trial at ``next_level()``."""
        level = self.next_level()
        self.trials.append((level, felt))
        if felt:
            self._streak += 1
            if self._streak < self.down:
                return  # n-down: the same level again until n in a row
            self._streak, move = 0, -1
        else:
            self._streak, move = 0, +1
        if self._direction and move != self._direction:
            self.reversals.append(level)
            if len(self.reversals) >= len(self.step_factors):
                self._reversals_at_final.append(level)
        self._direction = move
        factor = self.step_factors[min(len(self.reversals), len(self.step_factors) - 1)]
        new = level * factor if move > 0 else level / factor
        self.level = min(self.ceiling, max(self.floor, new))

    def _run_at(self, level: float, felt: bool) -> int:
        n = 0
        for lv, f in reversed(self.trials):
            if f != felt or not math.isclose(lv, level):
                break
            n += 1
        return n

    @property
    def outcome(self) -> Literal["measuring", "converged", "above_ceiling", "at_floor",
                                 "too_many_trials"]:  # fmt: skip
        if len(self._reversals_at_final) >= self.final_reversals:
            return "converged"
        if self._run_at(self.ceiling, False) >= self.ceiling_misses:
            return "above_ceiling"
        if self._run_at(self.floor, True) >= self.floor_hits:
            return "at_floor"
        if len(self.trials) >= self.max_trials:
            return "too_many_trials"
        return "measuring"

    def result(self) -> float | None:
        """The threshold (fraction of full scale), or None when there is none to give:
        not felt at the ceiling, or no convergence within ``max_trials``. Felt at the
        floor gives the floor (the threshold is at or below it)."""
        outcome = self.outcome
        if outcome == "converged":
            last = self._reversals_at_final[-self.final_reversals :]
            return math.exp(sum(math.log(x) for x in last) / len(last))
        if outcome == "at_floor":
            return self.floor
        return None

    def detail(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "target_p_felt": round(self.target, 4),
            "ceiling": self.ceiling,
            "floor": self.floor,
            "start": self.start,
            "reversals": [round(x, 5) for x in self.reversals],
            "trials": [[round(lv, 5), felt] for lv, felt in self.trials],
        }


@dataclass
class AscendingSeries(_Procedure):
    """The tolerance probe: rise by ``factor`` until the first "not manageable"."""

    factor: float = 1.26  # 2 dB a trial

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.factor <= 1:
            raise ValueError("factor must be a ratio above 1")

    method = TOLERANCE_METHOD

    def record(self, *, manageable: bool) -> None:
        level = self.next_level()
        self.trials.append((level, manageable))
        if manageable:
            self.level = min(self.ceiling, level * self.factor)

    @property
    def outcome(self) -> Literal["measuring", "limit_found", "ceiling_manageable",
                                 "too_many_trials"]:  # fmt: skip
        if self.trials and not self.trials[-1][1]:
            return "limit_found"
        if self.trials and math.isclose(self.trials[-1][0], self.ceiling):
            return "ceiling_manageable"
        if len(self.trials) >= self.max_trials:
            return "too_many_trials"
        return "measuring"

    def result(self) -> float | None:
        """The proposed starting level: the highest level answered "manageable" (None
        when even the first, weakest one was not)."""
        ok = [lv for lv, manageable in self.trials if manageable]
        return max(ok) if ok and self.finished else None

    def detail(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "ceiling": self.ceiling,
            "start": self.start,
            "factor": self.factor,
            "trials": [[round(lv, 5), ok] for lv, ok in self.trials],
        }
