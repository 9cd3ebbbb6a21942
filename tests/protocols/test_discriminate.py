"""The ``discriminate`` step (issue 16): validation, the compiled sequence, the caps, and
what the page may see. Expected values come from the brief and Moseley et al. (Pain
2009): every site equally often per block, never the same site three times in a row,
the same seed the same sequence, every stimulus at or below min(device limit, cap,
patient setting), and no trace of a trial's site in the page's step."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from station.app.status_text import describe
from station.errors import ConfigError
from station.program_trials import public_step
from station.protocols.compiler import compile_program
from station.protocols.load import validate_data
from station.protocols.settings import PatientSettings
from station.wiring import load_wiring

WIRING = load_wiring()
SITES = ["forearm", "hand", "upper_arm", "shoulder"]
BASE = {
    "id": "d", "name": "D", "version": "1", "author": "t",
    "body_sites": ["forearm-border", "hand-border", "upper-arm", "shoulder"],
    "caps": {"max_intensity_percent": 40, "max_session_minutes": 20, "sessions_per_day": 3},
    "ladders": [{"name": "m", "modality": "vibration", "levels": [{"name": "one", "steps": [
        {"kind": "discriminate", "sites": SITES, "intensity": {"percent": 35},
         "stimuli_per_block": 24, "blocks": 3, "stimulus_s": 1, "answer_s": 3,
         "interval_s": 1, "rest_s": 60}]}]}],
}  # fmt: skip


def _with(**step) -> dict:
    data = copy.deepcopy(BASE)
    data["ladders"][0]["levels"][0]["steps"][0].update(step)
    return data


def _compile(data: dict, settings: PatientSettings | None = None):
    p = validate_data(data, source="t", wiring=WIRING)
    return compile_program(p, level=0, wiring=WIRING, settings=settings).steps[0]


def _runs_ok(sites: list[str]) -> bool:
    return all(not (a == b == c) for a, b, c in zip(sites, sites[1:], sites[2:], strict=False))


def test_each_block_is_balanced_without_three_in_a_row_and_moseley_length():
    step = _compile(BASE)
    plan = step.discrimination
    assert len(plan.trials) == 72  # three blocks of 24 (Moseley 2009)
    for b in range(3):
        block = [t.site for t in plan.trials if t.block == b]
        assert Counter(block) == {s: 6 for s in SITES}
    assert _runs_ok([t.site for t in plan.trials])
    # 72 x (1 s + 3 s) + 69 pauses of 1 s + 2 rests of 60 s = 477 s
    assert step.duration_ms == 477_000


def test_five_sites_do_not_divide_24_evenly_counts_differ_by_at_most_one():
    data = _with(sites=["a", "b", "c", "d", "e"])
    from station.protocols.model import Protocol

    p = Protocol.model_validate(data | {"body_sites": ["x"]})  # no wiring: model only
    assert p.ladders[0].levels[0].steps[0].stimuli_per_block == 24
    import random

    from station.protocols.discriminate import balanced_block

    for seed in range(50):
        block = balanced_block(list("abcde"), [None], 24, random.Random(seed), [])
        counts = Counter(s for s, _ in block)
        assert max(counts.values()) - min(counts.values()) <= 1 and sum(counts.values()) == 24
        assert _runs_ok([s for s, _ in block])


def test_two_probes_every_pair_balanced_and_probe_named():
    data = _with(probes=[{"name": "soft", "intensity": {"percent": 15}},
                         {"name": "strong", "intensity": {"percent": 35}}])  # fmt: skip
    plan = _compile(data).discrimination
    pairs = Counter((t.site, t.probe) for t in plan.trials if t.block == 0)
    assert set(pairs.values()) == {3} and len(pairs) == 8  # 4 sites x 2 probes x 3


def test_the_seed_reproduces_the_sequence_and_sessions_get_new_ones():
    fixed = _with(seed=1234)
    a, b = _compile(fixed).discrimination, _compile(fixed).discrimination
    assert a.seed == b.seed == 1234 and a.trials == b.trials
    first = _compile(BASE).discrimination
    again = _compile(BASE).discrimination  # the armed program stays the same
    assert first.trials == again.trials
    later = _compile(BASE, PatientSettings(discrimination={"sessions": 1})).discrimination
    assert later.seed != first.seed
    assert [t.site for t in later.trials] != [t.site for t in first.trials]


def test_every_stimulus_is_within_device_cap_and_patient_scale():
    # prescribed 35 %, cap 40 %, device 0.9, patient scale 50 % -> 0.175
    step = _compile(BASE, PatientSettings(intensity_percent=50))
    assert {s.level for s in step.segments} == {0.175}
    # a cap below the prescription is refused at validation, naming the path and the cap
    with pytest.raises(ConfigError) as exc:
        validate_data(_with(intensity={"percent": 60}), source="t", wiring=WIRING)
    assert "intensity.percent" in str(exc.value) and "40" in str(exc.value)
    for seg in step.segments:
        assert seg.ramp_up_ms == seg.ramp_down_ms == 100  # ramps: no jumps


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"sites": ["forearm"]}, ["sites"]),
        ({"sites": ["forearm", "brush"]}, ["brush", "haptic"]),
        ({"sites": ["forearm", "nope"]}, ["nope", "known"]),
        ({"probes": [{"name": "a", "intensity": {"percent": 20}},
                     {"name": "b", "intensity": {"percent": 25}}]}, ["clearly different", "1.5"]),
        ({"probes": [{"name": "a", "intensity": {"percent": 20}}]}, ["exactly two"]),
        ({"adaptive": {"closer_by_percent": 5, "min_difference_percent": 5}}, ["needs probes"]),
        ({"ramp_s": 0.6}, ["ramp_s", "stimulus_s"]),
    ],
)  # fmt: skip
def test_bad_steps_are_refused_with_a_clear_message(step, words):
    with pytest.raises(ConfigError) as exc:
        validate_data(_with(**step), source="t", wiring=WIRING)
    text = str(exc.value)
    assert all(w in text for w in words), text


def test_two_sites_on_one_body_site_are_refused_at_compile():
    p = validate_data(BASE, source="t", wiring=WIRING)
    moved = PatientSettings(sites={"hand": "forearm-border"})
    with pytest.raises(ConfigError) as exc:
        compile_program(p, level=0, wiring=WIRING, settings=moved)
    assert "different body sites" in str(exc.value)


def test_adaptive_probes_move_closer_never_below_the_minimum():
    data = _with(probes=[{"name": "soft", "intensity": {"percent": 10}},
                         {"name": "strong", "intensity": {"percent": 30}}],
                 adaptive={"closer_by_percent": 5, "min_difference_percent": 8})  # fmt: skip
    levels = [_compile(data, PatientSettings(discrimination={"closer_steps": n}))
              .discrimination.probe_levels["strong"] for n in (0, 1, 2, 3, 10)]  # fmt: skip
    assert levels == [0.30, 0.25, 0.20, 0.18, 0.18]


def test_the_page_never_sees_which_site_a_trial_drives():
    step = _compile(BASE)
    seen = public_step(step)
    assert seen["segments"] == []
    assert all(set(t) == {"block", "index", "start_ms", "stimulus_end_ms", "answer_end_ms"}
               for t in seen["discrimination"]["trials"])  # fmt: skip

    class Cur:
        id, state, level_name = 1, "running", "one"

    class Prog:
        duration_ms, stop_threshold, steps = step.duration_ms, 8, (step,)

    status = describe(engine={"connected": True, "state": "running", "step_index": 0,
                              "elapsed_ms": 500}, current=Cur(), program=Prog(), nxt=None,
                      simulate=True, fault=None, reminder=None, indicator="running")  # fmt: skip
    text = repr(status)
    assert "'actuator'" not in text and "'site': 'forearm', 'probe'" not in text
    assert "seed" not in text
