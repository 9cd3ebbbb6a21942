"""The simulated clock on its own: jumps, a fast rate, never backwards, kept across an
app restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from station.app.simclock import SimClock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_jumps_and_rate() -> None:
    mono = Mono()
    c = SimClock(start=T0, monotonic=mono)
    assert c.now() == T0
    mono.t += 2
    assert c.now() == T0 + timedelta(seconds=2)
    assert c.advance(3600) == T0 + timedelta(seconds=3602)
    c.set_rate(60)
    mono.t += 10  # ten real seconds at 60x: ten simulated minutes
    assert c.now() == T0 + timedelta(seconds=3602 + 600)
    c.set_rate(1)
    mono.t += 1
    assert c.now() == T0 + timedelta(seconds=4203)
    assert c.as_dict()["advanced_s"] == 3600 and c.rate == 1


def test_refuses_going_back_and_absurd_rates() -> None:
    c = SimClock(start=T0, monotonic=Mono())
    for bad in (-1, 400 * 86400):
        with pytest.raises(ValueError):
            c.advance(bad)
    for bad in (0, 0.5, 1001):
        with pytest.raises(ValueError):
            c.set_rate(bad)
    assert c.now() == T0


def test_kept_in_the_data_directory_only_once_moved(tmp_path) -> None:
    state = tmp_path / "sim-clock.json"
    c = SimClock(state=state)
    c.save()
    assert not state.exists()  # never moved: nothing written
    c.advance(7 * 86400)
    again = SimClock(state=state)  # the app restarted
    ahead = again.now() - datetime.now(UTC)
    assert timedelta(days=7) - timedelta(seconds=5) < ahead <= timedelta(days=7, seconds=5)
    assert again.as_dict()["advanced_s"] == 7 * 86400
    state.write_text("not json")
    assert abs(SimClock(state=state).now() - datetime.now(UTC)) < timedelta(seconds=5)
