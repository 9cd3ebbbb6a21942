"""Shared fixtures: the built-in wiring and a small valid protocol to break."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from station.wiring import WiringConfig, load_wiring

BASE: dict[str, Any] = {
    "id": "test-proto",
    "name": "Test protocol",
    "version": "1.0",
    "author": "tests",
    "body_sites": ["forearm-border"],
    "avoid_sites": ["palm"],
    "caps": {
        "max_intensity_percent": 60,
        "max_brush_speed_cm_s": 10,
        "max_session_minutes": 10,
        "sessions_per_day": 3,
        "min_minutes_between_sessions": 60,
    },
    "ladders": [
        {
            "name": "main",
            "modality": "mixed",
            "levels": [
                {
                    "name": "one",
                    "steps": [
                        {
                            "kind": "vibrate",
                            "actuators": ["forearm"],
                            "intensity": {"percent": 50},
                            "duration_s": 60,
                            "ramp_s": 1.0,
                        },
                        {"kind": "rate", "lingering": True},
                    ],
                },
                {
                    "name": "two",
                    "steps": [
                        {
                            "kind": "brush",
                            "actuator": "brush",
                            "speed_cm_s": 3,
                            "stroke_cm": 6,
                            "strokes": 10,
                            "pause_s": 2,
                        },
                        {
                            "kind": "tap",
                            "actuators": ["hand"],
                            "effect": "Soft Bump - 60%",
                            "taps_per_second": 2,
                            "duration_s": 30,
                        },
                        {"kind": "manual", "instruction": "Rub the silk", "duration_s": 60},
                        {"kind": "rest", "duration_s": 30},
                    ],
                },
            ],
        }
    ],
}


@pytest.fixture
def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture(scope="session")
def wiring() -> WiringConfig:
    return load_wiring()
