"""A real Mosquitto configured by `station hub init`, as for the hub's own tests."""

from tests.hub.conftest import broker  # noqa: F401
