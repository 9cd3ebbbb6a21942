"""Fixtures for the hub: a real Mosquitto configured by `station hub init`, and (for the
PostgreSQL path) a real PostgreSQL in a temporary directory."""

from __future__ import annotations

import shutil

import pytest

from tests.hub.hubkit import Mosquitto, Postgres

pytestmark = pytest.mark.slow


@pytest.fixture
def broker(tmp_path):
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (./test installs it: apt-get install mosquitto)")
    b = Mosquitto(tmp_path / "hub")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def postgres_url():
    pg = Postgres()
    try:
        yield pg.start()
    finally:
        pg.stop()
