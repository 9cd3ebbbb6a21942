"""Level lengths count the brush's lead-in/lead-out: a level that validates (and is shown)
within ``max_session_minutes`` is not refused later by the compiler's cap check."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.errors import ConfigError
from station.protocols.compiler import compile_program
from station.protocols.library import builtin_paths
from station.protocols.load import load_file, validate_data
from station.protocols.model import BrushStep, Protocol
from station.protocols.timing import (
    brush_duration_s,
    brush_lead_ms,
    exact_leads_ms,
    level_timing,
)
from tests.protocols.conftest import BASE


def brushing(*, cap_min: float, **step) -> dict:
    """BASE with one ladder of one level: a single brush step."""
    data = copy.deepcopy(BASE)
    data["caps"]["max_session_minutes"] = cap_min
    brush = {"kind": "brush", "actuator": "brush", "speed_cm_s": 3, "stroke_cm": 6,
             "strokes": 28, "pause_s": 0.05, "patient_speed": False, **step}  # fmt: skip
    data["ladders"][0]["levels"] = [{"name": "long brushing", "steps": [brush]}]
    return data


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> dict[str, str]:
    return {p.path: p.message for p in exc.value.problems}


def test_strokes_fit_but_leads_do_not_refused_at_validation_naming_level_length_and_cap(
    wiring,
):
    data = brushing(cap_min=1)
    step = BrushStep.model_validate(data["ladders"][0]["levels"][0]["steps"][0])
    # the gap: the strokes alone fit in the 60 s cap (what validation used to count) ...
    assert brush_duration_s(step, 3, wiring.brush_by_name("brush").max_accel_cm_s2) < 60
    # ... but the compiler, with the lead-in and lead-out, goes over it (the protocol
    # model alone, as the old validation would have let it through)
    with pytest.raises(ConfigError, match=r"level 'long brushing' lasts 1\.0\d min .*\(1 min\)"):
        compile_program(Protocol.model_validate(data), level=0, wiring=wiring)
    # now validation refuses it already, with or without the wiring
    for kw in ({}, {"wiring": wiring}):
        with pytest.raises(ConfigError) as exc:
            validate_data(data, source="f", **kw)
        msg = problems(exc)["ladders[0].levels[0]"]
        # (about 1.03 min with the exact glides, 1.12 with the no-wiring allowance)
        assert re.search(r"level 'long brushing' lasts about 1\.[01]\d min", msg), msg
        assert "s for the brush to move onto and off the skin" in msg
        assert "above caps.max_session_minutes (1 min)" in msg
        assert ("allowance" in msg) is (not kw)  # exact lead times with the wiring


def test_validation_with_wiring_is_exactly_the_compiled_length(wiring):
    """With the wiring at hand the estimate is the compiler's own arithmetic, for every
    built-in level and the test protocol's brushing level."""
    checked = 0
    for path in builtin_paths():
        p = load_file(path)
        for ladder in p.ladders:
            ranking = [lv.id for lv in ladder.levels] if ladder.ranked_by_patient else None
            for i, level in enumerate(ladder.levels):
                prog = compile_program(p, level=i, ladder=ladder.name, wiring=wiring,
                                       ranking=ranking)  # fmt: skip
                timing = level_timing(level, wiring=wiring)
                assert round(timing.total_s * 1000) == prog.duration_ms, (path.name, level.name)
                assert timing.exact_leads
                checked += 1
    assert checked > 3


@pytest.mark.parametrize(
    ("direction", "strokes"),
    [("forward", 1), ("backward", 1), ("alternate", 1), ("alternate", 2), ("alternate", 3)],
)
@pytest.mark.parametrize("speed", [0.3, 3, 10, 30])
def test_allowance_covers_the_exact_leads_on_the_default_brush(wiring, direction, strokes, speed):
    brush = wiring.brush_by_name("brush")
    allowance = brush_lead_ms(BrushStep(kind="brush", actuator="x", speed_cm_s=speed,
                                        stroke_cm=1, strokes=1))  # fmt: skip
    for tenth in range(1, int(brush.travel_cm * 10) + 1):
        step = BrushStep(kind="brush", actuator="brush", speed_cm_s=speed, stroke_cm=tenth / 10,
                         strokes=strokes, direction=direction)  # fmt: skip
        exact = sum(exact_leads_ms(step, brush))
        assert exact <= allowance, (tenth / 10, exact, allowance)
        assert exact > 0


@settings(max_examples=60, deadline=None)
@given(
    stroke=st.floats(0.5, 11.0),
    strokes=st.integers(1, 40),
    pause=st.floats(0, 3),
    speed=st.floats(0.3, 10),
    direction=st.sampled_from(["forward", "backward", "alternate"]),
    slack_s=st.floats(0, 8),
)
def test_what_validates_without_wiring_compiles_within_the_cap(
    wiring, stroke, strokes, pause, speed, direction, slack_s
):
    if direction != "alternate":
        strokes = 1  # one-way strokes only as a single stroke (a one-axis arm: test_brush_levels)
    data = brushing(cap_min=1, stroke_cm=stroke, strokes=strokes, pause_s=pause,
                    speed_cm_s=speed, direction=direction)  # fmt: skip
    data["caps"]["max_brush_speed_cm_s"] = 10
    step = BrushStep.model_validate(data["ladders"][0]["levels"][0]["steps"][0])
    # put the cap right around the strokes-only length, where the leads decide
    near = brush_duration_s(step, speed, 60.0) + slack_s
    data["caps"]["max_session_minutes"] = min(120, max(0.01, near / 60))
    try:
        p = validate_data(data, source="f")
    except ConfigError as exc:  # only ever for the level's length
        assert [q.path for q in exc.problems] == ["ladders[0].levels[0]"], exc.problems
        return
    prog = compile_program(p, level=0, wiring=wiring)
    assert prog.duration_ms <= p.caps.max_session_minutes * 60_000
