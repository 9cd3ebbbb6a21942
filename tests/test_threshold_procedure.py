"""The threshold procedures against known psychometric functions (pure logic, no I/O).

Where the expected values come from (not from the code): an observer who feels a level
x when x > T + N(0, sigma) has P(felt | x) = Phi((x - T) / sigma). Levitt (1971, Table I)
gives the point each transformed up-down rule converges on: 1-up/1-down on P = 0.5, i.e.
x = T; 1-up/2-down on P = 0.707, i.e. x = T + 0.545 sigma (Phi^-1(0.7071) = 0.5446).
"""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from station.thresholds.procedure import AscendingSeries, Staircase

Z_707 = 0.5446  # Phi^-1(1/sqrt(2)), from a normal table


def observer(threshold: float, sigma: float, rng: random.Random):
    return lambda level: level > threshold + rng.gauss(0.0, sigma)


def run(stair: Staircase, feels) -> Staircase:
    while not stair.finished:
        stair.record(felt=feels(stair.next_level()))
    return stair


@pytest.mark.parametrize("threshold", [0.30, 0.12, 0.05])
def test_one_up_one_down_lands_on_the_50_percent_point(threshold):
    rng = random.Random(7)
    results = [
        run(Staircase(ceiling=0.8), observer(threshold, 0.1 * threshold, rng)).result()
        for _ in range(300)
    ]
    assert all(r is not None for r in results)
    within = sum(abs(r - threshold) / threshold <= 0.20 for r in results) / len(results)
    assert within >= 0.97, within
    assert statistics.median(results) == pytest.approx(threshold, rel=0.05)


def test_one_up_two_down_lands_on_the_70_7_percent_point():
    rng, threshold, sigma = random.Random(11), 0.30, 0.05
    results = [
        run(Staircase(ceiling=0.9, down=2), observer(threshold, sigma, rng)).result()
        for _ in range(300)
    ]
    expected = threshold + Z_707 * sigma  # 0.327
    assert statistics.median(results) == pytest.approx(expected, rel=0.05)
    assert Staircase(ceiling=0.5, down=2).target == pytest.approx(0.7071, abs=1e-4)


def test_a_typical_run_takes_tens_of_trials_not_hundreds():
    rng = random.Random(3)
    counts = [
        len(run(Staircase(ceiling=0.8), observer(0.12, 0.012, rng)).trials) for _ in range(200)
    ]
    assert 12 <= statistics.mean(counts) <= 30
    assert max(counts) <= 60


def test_never_above_the_ceiling_and_no_jumps():
    rng = random.Random(5)
    for _ in range(100):
        stair = run(Staircase(ceiling=0.25), observer(0.22, 0.05, rng))
        levels = [lv for lv, _ in stair.trials]
        assert max(levels) <= 0.25
        assert levels[0] == pytest.approx(0.02)  # the weakest stimulus comes first
        for a, b in itertools.pairwise(levels):
            assert max(a, b) / min(a, b) <= 2.0 + 1e-9  # at most one doubling a trial


def test_a_threshold_above_the_ceiling_gives_no_result():
    stair = run(Staircase(ceiling=0.2), lambda level: level > 0.5)
    assert stair.outcome == "above_ceiling"
    assert stair.result() is None
    assert max(lv for lv, _ in stair.trials) == pytest.approx(0.2)


def test_felt_at_the_floor_gives_the_floor():
    stair = Staircase(ceiling=0.5, start=0.01)
    run(stair, lambda level: True)
    assert stair.outcome == "at_floor" and stair.result() == pytest.approx(0.01)


def test_a_start_above_the_ceiling_is_held_at_the_ceiling():
    assert Staircase(ceiling=0.015, start=0.3).next_level() == pytest.approx(0.015)
    with pytest.raises(ValueError):
        Staircase(ceiling=0.005)  # below the floor: nothing to measure


def test_tolerance_series_proposes_the_last_manageable_level():
    series = AscendingSeries(ceiling=0.8, start=0.05)
    while not series.finished:
        series.record(manageable=series.next_level() < 0.4)
    levels = [lv for lv, _ in series.trials]
    assert all(b > a for a, b in itertools.pairwise(levels))  # ascending only
    assert series.outcome == "limit_found"
    proposal = series.result()
    assert proposal is not None and proposal < 0.4 and proposal * 1.26 >= 0.4 - 1e-9


def test_tolerance_series_stops_at_the_ceiling_and_with_no_manageable_level():
    series = AscendingSeries(ceiling=0.3, start=0.1)
    while not series.finished:
        series.record(manageable=True)
    assert series.outcome == "ceiling_manageable" and series.result() == pytest.approx(0.3)
    first_no = AscendingSeries(ceiling=0.3, start=0.1)
    first_no.record(manageable=False)
    assert first_no.finished and first_no.result() is None
