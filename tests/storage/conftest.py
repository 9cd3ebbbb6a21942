"""Fixtures for the storage tests: a store on a temporary folder with a clock the test
moves by hand, so limits and grace windows are tested without sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.storage import Store

from .helpers import ZONE, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(tmp_path / "data", clock=clock, tz=ZONE) as s:
        yield s
