"""Hypothesis breaks protocols at random: the validator never crashes (only ConfigError)
and never accepts a protocol that breaks one of its own caps."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from station.errors import ConfigError
from station.protocols.load import load_text, validate_data
from station.protocols.model import BrushStep, Protocol, VibrateStep
from station.protocols.timing import level_duration_s
from tests.protocols.conftest import BASE

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = [p for p in _paths(BASE) if p]


@st.composite
def broken(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(ALL_PATHS))
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            action = draw(st.sampled_from(["replace", "delete", "extra", "number"]))
            if action == "replace":
                node[path[-1]] = draw(junk)
            elif action == "delete":
                del node[path[-1]]
            elif action == "extra" and isinstance(node, dict):
                node[draw(st.text(min_size=1, max_size=8))] = draw(junk)
            else:
                node[path[-1]] = draw(st.floats(-1e6, 1e6) | st.integers(-1000, 1000))
        except (KeyError, IndexError, TypeError):
            continue
    return data


def _within_caps(p: Protocol) -> bool:
    caps = p.caps
    for ladder in p.ladders:
        for level in ladder.levels:
            if level_duration_s(level) > caps.max_session_minutes * 60:
                return False
            for step in level.steps:
                pct = step.intensity.percent if isinstance(step, VibrateStep) else None
                if pct is not None and pct > caps.max_intensity_percent:
                    return False
                if isinstance(step, BrushStep) and step.speed_cm_s > caps.max_brush_speed_cm_s:
                    return False
    return True


@settings(max_examples=250, deadline=None)
@given(data=broken())
def test_never_crashes_never_accepts_over_cap(data):
    try:
        p = validate_data(data, source="fuzz.toml")
    except ConfigError as exc:
        assert exc.problems and all(pr.message for pr in exc.problems)
        assert "fuzz.toml" in str(exc)
        return
    assert _within_caps(p)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300) | st.binary(max_size=300), fmt=st.sampled_from(["toml", "json"]))
def test_random_text_never_crashes(text, fmt):
    try:
        load_text(text, fmt=fmt, source="t")
    except ConfigError as exc:
        assert exc.problems and str(exc).startswith("t: ")


@settings(max_examples=100, deadline=None)
@given(
    cap=st.floats(1, 100),
    percent=st.floats(0.5, 100),
    speed_cap=st.floats(0.5, 100),
    speed=st.floats(0.5, 100),
)
def test_over_cap_values_always_refused(cap, percent, speed_cap, speed):
    data = copy.deepcopy(BASE)
    data["caps"].update(max_intensity_percent=cap, max_brush_speed_cm_s=speed_cap)
    data["ladders"][0]["levels"][1]["steps"][1]["effect"] = "Smooth Hum 5"  # 10 %: not the point
    data["caps"]["max_intensity_percent"] = max(cap, 10)
    data["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"percent": percent}
    data["ladders"][0]["levels"][1]["steps"][0]["speed_cm_s"] = speed
    data["caps"]["max_session_minutes"] = 120
    over = percent > max(cap, 10) or speed > speed_cap
    try:
        validate_data(json.loads(json.dumps(data)), source="f")
    except ConfigError as exc:
        assert over, str(exc)
        return
    assert not over
