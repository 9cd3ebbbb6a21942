"""The compiler: flat timed programs, three layers of limits, refusals that name why."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.errors import ConfigError
from station.program import AmplitudeSegment, BrushSegment, TapSegment
from station.protocols.compiler import compile_program
from station.protocols.effects import effect
from station.protocols.library import builtin_paths
from station.protocols.load import load_file, protocol_hash, validate_data
from station.protocols.settings import PatientSettings, check_settings
from station.wiring import WiringConfig
from tests.protocols.conftest import BASE


def _segs(program, kind):
    return [s for st_ in program.steps for s in st_.segments if isinstance(s, kind)]


def test_program_shape_and_hash(base, wiring):
    p = validate_data(base, source="f")
    prog = compile_program(p, level=0, wiring=wiring)
    assert [s.kind for s in prog.steps] == ["vibrate", "rate"]
    assert prog.duration_ms == 60_000 + 30_000
    assert prog.protocol_hash == protocol_hash(p)
    assert prog.stop_threshold == p.progression.stop_threshold
    (seg,) = _segs(prog, AmplitudeSegment)
    assert seg.level == pytest.approx(0.5) and seg.ramp_up_ms == 1000
    assert prog.steps[1].rating is not None and prog.steps[1].rating.lingering


def test_three_layers_clamp_vibration(base, wiring):
    base["caps"]["max_intensity_percent"] = 100
    base["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"percent": 100}
    p = validate_data(base, source="f")
    # device limit: forearm max_amplitude 0.9
    assert _segs(compile_program(p, level=0, wiring=wiring), AmplitudeSegment)[0].level == 0.9
    # patient lowers to 50 %
    s = PatientSettings(intensity_percent=50)
    lvl = _segs(compile_program(p, level=0, wiring=wiring, settings=s), AmplitudeSegment)[0].level
    assert lvl == pytest.approx(0.5)


def test_threshold_relative_intensity(base, wiring):
    base["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"times_threshold": 2}
    p = validate_data(base, source="f")
    with pytest.raises(ConfigError, match="detection threshold"):
        compile_program(p, level=0, wiring=wiring)
    s = PatientSettings(detection_thresholds={"forearm": 0.1})
    prog = compile_program(p, level=0, wiring=wiring, settings=s)
    assert _segs(prog, AmplitudeSegment)[0].level == pytest.approx(0.2)
    s = PatientSettings(detection_thresholds={"forearm": 0.5})  # 2x = 100 %: cap 60 %
    prog = compile_program(p, level=0, wiring=wiring, settings=s)
    assert _segs(prog, AmplitudeSegment)[0].level == pytest.approx(0.6)


def test_brush_speed_layers_and_timing(base, wiring):
    p = validate_data(base, source="f")
    prog = compile_program(p, level=1, wiring=wiring)
    (b,) = _segs(prog, BrushSegment)
    assert b.speed_cm_s == 3 and b.accel_cm_s2 == 60 and b.pause_ms == 2000
    # lead-in + 10 strokes x (6/3 + 3/60) s + 9 x 2 s + lead-out
    strokes_ms = b.duration_ms - b.lead_in_ms - b.lead_out_ms
    assert strokes_ms == pytest.approx(10 * 2050 + 18_000, abs=1)
    # the lead-in/out are the glides park <-> stroke ends (10 alternating strokes, centred:
    # the first starts and the last ends at the origin), each two trapezoids meeting at
    # rest where the skin begins (the travel's 0, park lies below it): off the skin at
    # the approach speed v, on it at the stroke's 3 cm/s; a trapezoid is distance/v + v/a
    cfg = wiring.brush_by_name("brush")
    assert b.direction == "alternate" and cfg.park_cm < 0
    v, origin = cfg.approach_speed_cm_s, (cfg.travel_cm - 6) / 2
    glide_s = (-cfg.park_cm / v + v / 60) + (origin / 3 + 3 / 60)
    for ms in (b.lead_in_ms, b.lead_out_ms):
        assert ms == pytest.approx(glide_s * 1000, abs=1)
    fast = compile_program(p, level=1, wiring=wiring, settings=PatientSettings(brush_speed_cm_s=25))
    assert _segs(fast, BrushSegment)[0].speed_cm_s == 10  # clinician cap
    slow = compile_program(
        p, level=1, wiring=wiring, settings=PatientSettings(brush_speed_cm_s=0.1)
    )
    assert _segs(slow, BrushSegment)[0].speed_cm_s == 0.3  # device minimum


def test_taps_pick_weaker_variant_for_patient_setting(base, wiring):
    p = validate_data(base, source="f")
    prog = compile_program(
        p, level=1, wiring=wiring, settings=PatientSettings(intensity_percent=50)
    )
    (t,) = _segs(prog, TapSegment)
    assert effect(t.effect_id).name == "Soft Bump - 30%" and t.interval_ms == 500


def test_refuses_stroke_longer_than_travel(base, wiring):
    base["ladders"][0]["levels"][1]["steps"][0]["stroke_cm"] = 15
    p = validate_data(base, source="f")  # no wiring: structurally fine
    with pytest.raises(ConfigError, match="travel"):
        compile_program(p, level=1, wiring=wiring)


def test_refuses_actuator_not_in_wiring(base, wiring):
    base["ladders"][0]["levels"][0]["steps"][0]["actuators"] = ["knee"]
    p = validate_data(base, source="f")
    with pytest.raises(ConfigError, match="knee"):
        compile_program(p, level=0, wiring=wiring)


def test_refuses_level_out_of_range_and_session_too_long(base, wiring):
    p = validate_data(base, source="f")
    with pytest.raises(ConfigError, match=r"levels 0\.\.1"):
        compile_program(p, level=2, wiring=wiring)
    base["caps"]["max_session_minutes"] = 2.5
    base["ladders"][0]["levels"][1]["steps"][2]["duration_s"] = 5
    p = validate_data(base, source="f")
    slowest = PatientSettings(brush_speed_cm_s=0.3)  # 10 strokes of 6 cm at 0.3 cm/s > 2.5 min
    with pytest.raises(ConfigError, match="max_session_minutes"):
        compile_program(p, level=1, wiring=wiring, settings=slowest)


def test_ranking_orders_patient_ranked_ladder(wiring):
    p = load_file(next(x for x in builtin_paths() if x.name == "textures.toml"))
    ids = [lv.id for lv in p.ladder("textures").levels]
    with pytest.raises(ConfigError, match="ranked by the patient"):
        compile_program(p, level=0, wiring=wiring, ladder="textures")
    ranking = list(reversed(ids))
    prog = compile_program(p, level=0, wiring=wiring, ladder="textures", ranking=ranking)
    assert prog.level == p.ladder("textures").levels[-1].name
    s = PatientSettings(rankings={"textures": ranking})
    assert compile_program(p, level=0, wiring=wiring, ladder="textures", settings=s) == prog
    with pytest.raises(ConfigError, match="each item once"):
        compile_program(p, level=0, wiring=wiring, ladder="textures", ranking=ids[:-1])


@pytest.mark.parametrize("path", builtin_paths(), ids=lambda x: x.name)
def test_every_builtin_level_compiles(path, wiring):
    p = load_file(path)
    for ladder in p.ladders:
        ranking = [lv.id for lv in ladder.levels] if ladder.ranked_by_patient else None
        for i in range(len(ladder.levels)):
            prog = compile_program(p, level=i, ladder=ladder.name, wiring=wiring, ranking=ranking)
            assert prog.duration_ms <= p.caps.max_session_minutes * 60_000


def test_check_settings_refuses_values_above_caps(base, wiring):
    p = validate_data(base, source="f")
    s = PatientSettings(brush_speed_cm_s=12, reminder_times=["08:00", "12:00", "16:00", "20:00"])
    problems = {x.path: x.message for x in check_settings(p, s, wiring)}
    assert "10 cm/s" in problems["brush_speed_cm_s"]
    assert "3 sessions" in problems["reminder_times"]
    assert check_settings(p, PatientSettings(brush_speed_cm_s=5), wiring) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    percent=st.floats(1, 100),
    cap=st.floats(10, 100),
    device=st.floats(0.01, 1.0),
    patient=st.floats(1, 100),
    speed=st.floats(0.3, 30),
    brush_cap=st.floats(0.5, 30),
    patient_speed=st.none() | st.floats(0.01, 100),
)
def test_property_every_level_within_all_three_layers(
    wiring, percent, cap, device, patient, speed, brush_cap, patient_speed
):
    base = copy.deepcopy(BASE)
    base["caps"].update(max_intensity_percent=cap, max_brush_speed_cm_s=brush_cap)
    base["caps"]["max_session_minutes"] = 120
    base["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"percent": min(percent, cap)}
    base["ladders"][0]["levels"][1]["steps"][0]["speed_cm_s"] = min(speed, brush_cap)
    base["ladders"][0]["levels"][1]["steps"][1]["effect"] = "Smooth Hum 5"
    p = validate_data(base, source="f")
    data = wiring.model_dump()
    for h in data["haptic"]:
        h["max_amplitude"] = device
    w = WiringConfig.model_validate(data)
    s = PatientSettings(intensity_percent=patient, brush_speed_cm_s=patient_speed)
    for level in (0, 1):
        try:
            prog = compile_program(p, level=level, wiring=w, settings=s)
        except ConfigError as exc:  # only a tap family with nothing weak enough may refuse
            assert "no variant" in str(exc)
            continue
        for seg in _segs(prog, AmplitudeSegment):
            assert seg.level <= min(device, cap / 100) + 1e-9
            assert seg.level <= percent / 100 * patient / 100 + 1e-9
        for seg in _segs(prog, TapSegment):
            assert effect(seg.effect_id).strength_percent <= min(device * 100, cap) + 1e-9
        brush = wiring.brush[0]
        for seg in _segs(prog, BrushSegment):
            assert brush.min_speed_cm_s - 1e-9 <= seg.speed_cm_s
            assert seg.speed_cm_s <= max(brush.min_speed_cm_s, min(brush_cap, 30)) + 1e-9
