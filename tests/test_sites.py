"""Where each actuator sits on the body, and the opposite rule checked against it (issue 12).

The outside truth: Spicher's opposite rule for static allodynia (the built-in
``distant-site`` protocol's notes) says the allodynic zone must never be touched. What
touches the skin is the actuator, wherever it is strapped, not the word on a step: a step
labelled "upper arm" that drives a pad placed on the allodynic zone touches the allodynic
zone. So a plan is refused when any step would drive an actuator placed on an avoided
site, and the message names the step, the actuator, the site and what to change.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from station.app import placement, plan_edit
from station.app.planner import Planner
from station.errors import ConfigError, InvalidInput
from station.protocols import library
from station.protocols.compiler import compile_program
from station.protocols.load import validate_data
from station.protocols.settings import PatientSettings
from station.protocols.sites import placements
from station.storage import Store
from station.wiring import WiringConfig, load_wiring, parse_wiring
from tests.protocols.conftest import BASE  # avoid_sites = ["palm"]; level two taps "hand"


def _wiring_with(**sites: str) -> WiringConfig:
    w = load_wiring()
    haptic = [h.model_copy(update={"site": sites.get(h.name, h.site)}) for h in w.haptic]
    return w.model_copy(update={"haptic": haptic})


def test_the_default_wiring_says_where_each_actuator_sits() -> None:
    # hardware/README.md's reference build: a forearm pad, a hand pad, two on the upper
    # arm/shoulder and the brush on the forearm; in the built-in protocols' site words.
    assert load_wiring().sites() == {
        "forearm": "forearm-border",
        "hand": "hand-border",
        "upper_arm": "upper-arm",
        "shoulder": "shoulder",
        "brush": "forearm-border",
    }


def test_a_bad_site_in_the_wiring_is_refused_naming_the_key() -> None:
    data = {"panel": {"start_pin": 5, "stop_pin": 6}, "haptic": [
        {"name": "forearm", "enable_pin": 17, "site": "Fore Arm!"}]}  # fmt: skip
    with pytest.raises(ConfigError) as err:
        parse_wiring(data, "test.toml")
    assert "haptic[0].site" in str(err.value) and "Fore Arm!" in str(err.value)


def test_a_step_on_an_actuator_placed_on_an_avoided_site_is_refused() -> None:
    protocol = validate_data(copy.deepcopy(BASE), source="t")
    wiring = load_wiring()
    compile_program(protocol, level=0, wiring=wiring)  # as wired: nothing on the palm
    settings = PatientSettings(sites={"hand": "palm"})  # this patient's hand pad: the palm
    with pytest.raises(ConfigError) as err:
        # Level one does not use the hand, but level two does: the ladder is refused
        # before progression can reach it.
        compile_program(protocol, level=0, wiring=wiring, settings=settings)
    problems = err.value.problems
    assert len(problems) == 1
    text = problems[0].render()
    assert problems[0].path == "ladders[0].levels[1].steps[1]"
    for words in ("step 2", "'two'", "actuator 'hand'", "'palm'", "avoid_sites",
                  "sites.hand", "forearm-border"):  # fmt: skip
        assert words in text, (words, text)


def test_the_wiring_placement_counts_and_the_plan_overrides_it() -> None:
    protocol = validate_data(copy.deepcopy(BASE), source="t")
    palm = _wiring_with(hand="palm")
    with pytest.raises(ConfigError, match="actuator 'hand', which is placed on 'palm'"):
        compile_program(protocol, level=1, wiring=palm)
    moved = PatientSettings(sites={"hand": "hand-border"})
    assert placements(palm, moved)["hand"] == "hand-border"
    assert compile_program(protocol, level=1, wiring=palm, settings=moved).steps


def test_the_step_label_says_upper_arm_but_the_pad_is_on_the_allodynic_zone() -> None:
    built_in = next(p for p in library.builtin_paths() if p.stem == "distant-site")
    from station.protocols.load import load_file

    protocol = load_file(built_in)
    wiring = load_wiring()
    compile_program(protocol, level=1, wiring=wiring)  # upper_arm pad on the upper arm: fine
    on_zone = PatientSettings(sites={"upper_arm": "allodynic-zone"})
    with pytest.raises(ConfigError) as err:
        compile_program(protocol, level=0, wiring=wiring, settings=on_zone)
    text = " ".join(p.render() for p in err.value.problems)
    assert "actuator 'upper_arm'" in text and "'allodynic-zone'" in text


@pytest.fixture
def planner(tmp_path: Path):
    with Store.open(tmp_path / "data") as store:
        p = Planner(data_dir=tmp_path / "data", store=store)
        result = library.import_file(
            p.data_dir, next(x for x in library.builtin_paths() if x.stem == "distant-site"),
            wiring=p.wiring,
        )  # fmt: skip
        plan_edit.assign(p, result.id, "distant/0", by="test")
        yield p


def test_the_clinician_places_pads_and_a_forbidden_placement_changes_nothing(planner) -> None:
    assert placement.current_sites(planner)["upper_arm"] == "upper-arm"
    out = placement.set_sites(planner, {"forearm": "forearm-border"}, by="clinician:carla")
    assert out["sites"]["forearm"] == "forearm-border"
    before = planner.store.plans.get()
    with pytest.raises(ConfigError, match="upper_arm"):
        placement.set_sites(planner, {"upper_arm": "allodynic-zone"}, by="clinician:carla")
    assert planner.store.plans.get() == before  # refused whole: nothing written
    with pytest.raises(InvalidInput, match="no actuator 'elbow'"):
        placement.set_sites(planner, {"elbow": "upper-arm"}, by="clinician:carla")
    with pytest.raises(ConfigError, match=r"sites\.forearm"):
        placement.set_sites(planner, {"forearm": "Not A Site"}, by="clinician:carla")
    assert planner.store.plans.get() == before
    # None puts an actuator back where the wiring has it.
    placement.set_sites(planner, {"forearm": None}, by="clinician:carla")
    assert "forearm" not in planner.settings().sites
