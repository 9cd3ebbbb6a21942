"""The wiring config: the shipped default loads; mistakes are named with their fix."""

from __future__ import annotations

import copy

import pytest

from station.errors import ConfigError, parse_toml_text
from station.wiring import load_wiring, parse_wiring


@pytest.fixture
def default_dict():
    from importlib import resources

    text = resources.files("station").joinpath("default_wiring.toml").read_text()
    return parse_toml_text(text, "default")


def test_default_wiring_loads():
    cfg = load_wiring()
    assert {h.name for h in cfg.haptic} == {"forearm", "hand", "upper_arm", "shoulder"}
    assert cfg.brush[0].travel_cm == pytest.approx(11.17, abs=0.01)


def _problems(data):
    with pytest.raises(ConfigError) as info:
        parse_wiring(data, "w.toml")
    return info.value.render()


def test_unknown_key_is_named(default_dict):
    data = copy.deepcopy(default_dict)
    data["haptic"][1]["enable_pinn"] = 4
    msg = _problems(data)
    assert "w.toml: haptic[1].enable_pinn" in msg and "unknown key" in msg


def test_pin_conflict_names_both(default_dict):
    data = copy.deepcopy(default_dict)
    data["panel"]["stop_pin"] = 17
    msg = _problems(data)
    assert "panel.stop_pin = 17" in msg and "haptic[0].enable_pin" in msg


def test_pin_that_does_not_exist(default_dict):
    data = copy.deepcopy(default_dict)
    data["panel"]["start_pin"] = 40
    assert "panel.start_pin = 40" in _problems(data)


def test_two_drivers_on_one_channel(default_dict):
    data = copy.deepcopy(default_dict)
    data["haptic"][2]["channel"] = 1
    msg = _problems(data)
    assert "haptic[2].channel = 1" in msg and "own channel" in msg


def test_pwm_pin_without_hardware_pwm(default_dict):
    data = copy.deepcopy(default_dict)
    data["brush"][0]["pwm_pin"] = 16
    msg = _problems(data)
    assert "brush[0].pwm_pin = 16" in msg and "GPIO12, 13, 18 or 19" in msg


def test_i2c_pins_are_reserved(default_dict):
    data = copy.deepcopy(default_dict)
    data["haptic"][0]["enable_pin"] = 2
    assert "I2C SDA" in _problems(data)


def test_all_problems_reported_at_once(default_dict):
    data = copy.deepcopy(default_dict)
    data["panel"]["start_pin"] = 99
    data["haptic"][0]["actuator"] = "piezo"
    data["brush"][0]["radius_cm"] = -1
    msg = _problems(data)
    assert msg.count("w.toml:") == 3


def test_several_drivers_need_a_mux(default_dict):
    data = copy.deepcopy(default_dict)
    del data["mux"]
    for h in data["haptic"]:
        del h["channel"]
    assert "needs a TCA9548A" in _problems(data)
