"""The engine's last layer: a program from any source cannot exceed the device limits or
jump to an intensity, even though the compiler already prevents both."""

from __future__ import annotations

import pytest

from hardware.backend import open_hardware
from station.engine.player import check_program
from station.program import AmplitudeSegment, BrushSegment, Program, ProgramStep
from station.wiring import load_wiring
from tests.engine.helpers import with_leads


@pytest.fixture(scope="module")
def hw(tmp_path_factory):
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path_factory.mktemp("d")) as h:
        yield h


def one_step(segment) -> Program:
    ms = max(4000, segment.duration_ms)
    step = ProgramStep(index=0, kind="vibrate", label="s", start_ms=0, duration_ms=ms,
                       segments=(segment,))  # fmt: skip
    return Program(protocol_id="p", protocol_version="1", protocol_hash="h", level="l",
                   level_index=0, steps=(step,), duration_ms=ms)  # fmt: skip


def brush(**kw) -> BrushSegment:
    """A brush segment with the compiler's lead-in/out for the default wiring; keywords
    override (after the leads are computed, so they can break them)."""
    fields = dict(type="brush", actuator="brush", start_ms=0, speed_cm_s=3.0,
                  stroke_cm=6.0, strokes=1, pause_ms=0, accel_cm_s2=30.0)  # fmt: skip
    leads = with_leads({**fields, **{k: v for k, v in kw.items() if not k.startswith("lead")
                                     and k != "duration_ms"}})  # fmt: skip
    return BrushSegment(**{**leads, **kw})


def vibrate(**kw) -> AmplitudeSegment:
    fields = dict(actuator="forearm", start_ms=0, duration_ms=4000, level=0.5,
                  ramp_up_ms=200, ramp_down_ms=200)  # fmt: skip
    return AmplitudeSegment(**{**fields, **kw})


def test_programs_within_the_limits_pass(hw):
    check_program(one_step(brush()), hw)
    check_program(one_step(vibrate()), hw)


@pytest.mark.parametrize(
    ("segment", "words"),
    [
        (brush(speed_cm_s=45.0), "0.3..30"),
        (brush(speed_cm_s=0.1), "0.3..30"),
        (brush(accel_cm_s2=500.0), "at most 60"),
        (brush(lead_in_ms=0), "lead_in_ms = 0; the move from park"),
        (brush(lead_out_ms=100), "lead_out_ms = 100; the move from the last stroke"),
        (brush(strokes=2, duration_ms=brush().duration_ms), "a stroke would be cut"),
        (vibrate(ramp_up_ms=0), "no intensity jumps"),
        (vibrate(ramp_down_ms=5), "no intensity jumps"),
    ],
)
def test_beyond_a_device_limit_or_without_a_ramp_is_refused(hw, segment, words):
    with pytest.raises(ValueError, match=words):
        check_program(one_step(segment), hw)


def builtin_levels():
    from pathlib import Path

    from station.protocols.load import load_file

    wiring = load_wiring()
    root = Path(__file__).resolve().parents[2] / "station" / "protocols"
    for path in sorted(root.glob("*.toml")):
        protocol = load_file(path, wiring=wiring)
        for ladder in protocol.ladders:
            for index in range(len(ladder.levels)):
                yield pytest.param(protocol, ladder, index, id=f"{path.stem}-{ladder.name}-{index}")


@pytest.mark.parametrize(("protocol", "ladder", "index"), list(builtin_levels()))
def test_every_builtin_level_passes_the_engines_own_check(hw, protocol, ladder, index):
    from station.protocols.compiler import compile_program
    from station.protocols.settings import PatientSettings

    ranking = [level.id for level in ladder.levels] if ladder.ranked_by_patient else None
    settings = PatientSettings(
        detection_thresholds={name: 0.1 for name in hw.wiring.actuator_names()},
        rankings={ladder.name: ranking} if ranking else {},
    )
    program = compile_program(
        protocol, level=index, wiring=hw.wiring, settings=settings, ladder=ladder.name,
        ranking=ranking,
    )  # fmt: skip
    check_program(program, hw)
