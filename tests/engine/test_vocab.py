"""One vocabulary (station.vocab): every table that uses its words agrees with it."""

from __future__ import annotations

import pytest

from hardware.panel import LED_PATTERNS
from station.engine.messages import EVENT_CLASSES
from station.vocab import (
    ENGINE_STATES,
    EVENT_NAMES,
    IDLE_PATTERNS,
    LED_PATTERN_NAMES,
    REQUESTED_STOPS,
    STATE_PATTERNS,
    STOP_REASONS,
    stop_reason,
)


def test_the_panel_has_one_led_pattern_per_name():
    assert set(LED_PATTERNS) == set(LED_PATTERN_NAMES)


def test_every_engine_state_shows_a_known_pattern():
    assert set(STATE_PATTERNS) == set(ENGINE_STATES)
    assert set(STATE_PATTERNS.values()) <= set(LED_PATTERN_NAMES)
    assert set(IDLE_PATTERNS) <= set(LED_PATTERN_NAMES)


def test_every_event_name_has_one_typed_event():
    assert set(EVENT_CLASSES) == set(EVENT_NAMES)


def test_stop_reasons_have_one_spelling():
    assert len(set(STOP_REASONS)) == len(STOP_REASONS)
    assert set(REQUESTED_STOPS) <= set(STOP_REASONS)
    assert "api" not in STOP_REASONS  # the old name of "user"
    assert stop_reason("api") == "user"
    for reason in STOP_REASONS:
        assert stop_reason(reason) == reason
    with pytest.raises(ValueError, match=r"'halt'.*user"):
        stop_reason("halt")


def test_the_page_and_the_engine_share_the_list_of_requested_stops():
    web_models = pytest.importorskip("web.models")
    assert tuple(web_models.STOP_REASONS) == REQUESTED_STOPS
