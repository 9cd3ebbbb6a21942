"""The hardware backend on a fake Pi: probing, refusing without strict_gpiod before any
pin, lgpio's failures named, claiming pins, and a missing I2C device explained."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import pytest

from hardware.backend import claim, open_hardware, probe_pi, real_pin_factory
from hardware.pi import GpioChip
from station.errors import HardwareError
from station.wiring import load_wiring
from tests.hardware.fakepi import (
    RP1,
    full_pi5,
)


def test_probe_finds_the_chip_checks_strict_and_warns_on_the_clock(tmp_path, caplog):
    fake = full_pi5(tmp_path, "N")
    with caplog.at_level(logging.WARNING, logger="hardware.pi"):
        chip = probe_pi(load_wiring(), paths=fake.paths)
    assert (chip.number, chip.label) == (0, "pinctrl-rp1")
    assert "runs at 100000 Hz" in caplog.text


def test_open_hardware_refuses_without_strict_before_any_pin(tmp_path):
    """On real hardware without strict_gpiod the station does not open, hence cannot arm;
    the refusal comes before lgpio is touched (it is not even installed here)."""
    fake = full_pi5(tmp_path, "Y")
    with pytest.raises(HardwareError) as info:
        open_hardware(load_wiring(), simulate=False, data_dir=tmp_path, pi_paths=fake.paths)
    assert info.value.device == "strict_gpiod" and "dtparam=strict_gpiod" in str(info.value)
    # safe-off opens without the requirement: it gets past the check to lgpio
    with pytest.raises(HardwareError) as info:
        open_hardware(
            load_wiring(),
            simulate=False,
            data_dir=tmp_path,
            pi_paths=fake.paths,
            require_strict=False,
        )
    assert info.value.device != "strict_gpiod"


def test_the_simulator_never_checks_strict(tmp_path):
    fake = full_pi5(tmp_path, "Y")
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path, pi_paths=fake.paths):
        pass


# -- lgpio failures -----------------------------------------------------------------------------
def test_lgpio_missing_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)  # import lgpio -> ImportError
    with pytest.raises(HardwareError) as info:
        real_pin_factory(RP1)
    assert info.value.device == "lgpio" and "'pi' extra" in str(info.value)
    assert "lgpio>=0.2.2.0" in str(info.value)


def test_lgpio_fifo_in_an_unwritable_directory_is_named(monkeypatch, tmp_path):
    """gpiozero #1106: importing lgpio creates .lgd-nfy* in the working directory."""
    (tmp_path / "lgpio.py").write_text(
        "raise FileNotFoundError(2, 'No such file or directory', '.lgd-nfy-3')\n"
    )
    monkeypatch.delitem(sys.modules, "lgpio", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(HardwareError) as info:
        real_pin_factory(RP1)
    msg = str(info.value)
    assert info.value.device == "lgpio" and "WorkingDirectory=" in msg and "LG_WD" in msg


def fake_lgpio(open_error: str | None = None) -> types.ModuleType:
    mod = types.ModuleType("lgpio")

    class error(Exception):
        pass

    mod.error = error
    for i, name in enumerate(
        [
            "SET_PULL_NONE",
            "SET_PULL_UP",
            "SET_PULL_DOWN",
            "BOTH_EDGES",
            "RISING_EDGE",
            "FALLING_EDGE",
        ]
    ):
        setattr(mod, name, i)

    def gpiochip_open(n):
        if open_error:
            raise error(open_error)
        mod.opened = n
        return 3

    mod.gpiochip_open = gpiochip_open
    mod.gpiochip_close = lambda h: None
    return mod


def test_gpiochip_open_failure_names_the_chip_and_the_group(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", fake_lgpio("can not open gpiochip"))
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)
    chip = GpioChip(13, "pinctrl-rp1", Path("/dev/gpiochip13"))
    with pytest.raises(HardwareError) as info:
        real_pin_factory(chip)
    msg = str(info.value)
    assert info.value.device == "gpiochip13"
    assert "/dev/gpiochip13 (pinctrl-rp1)" in msg and "can not open gpiochip" in msg
    assert "group gpio" in msg


def test_the_factory_opens_the_labelled_chip_not_4_or_0(monkeypatch):
    lg = fake_lgpio()
    monkeypatch.setitem(sys.modules, "lgpio", lg)
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)
    factory = real_pin_factory(GpioChip(13, "pinctrl-rp1", Path("/dev/gpiochip13")))
    try:
        assert lg.opened == 13 and factory.chip == 13
    finally:
        factory.close()


def test_claim_failure_names_the_pin_the_chip_and_what_to_check():
    def busy():
        raise OSError("GPIO busy")

    with pytest.raises(HardwareError) as info:
        claim("the EN line of haptic 'forearm'", 17, RP1, busy)
    msg = str(info.value)
    assert info.value.device == "GPIO17"
    assert "EN line of haptic 'forearm'" in msg and "/dev/gpiochip0 (pinctrl-rp1)" in msg
    assert "GPIO busy" in msg and "group gpio" in msg and "dtoverlay" in msg
    # the simulator's errors are not rewritten
    with pytest.raises(OSError, match="GPIO busy"):
        claim("x", 17, None, busy)


def test_missing_i2c_device_says_whether_the_bus_or_i2c_dev_is_missing(tmp_path):
    """The kernel makes the adapter (/sys/bus/i2c/devices/i2c-N) when the bus is on; the
    /dev node needs the i2c-dev module (kernel Documentation/i2c/dev-interface)."""
    from hardware.backend import i2c_missing_reason

    dev, sys_root = tmp_path / "dev", tmp_path / "sys"
    dev.mkdir()
    (sys_root / "bus" / "i2c" / "devices").mkdir(parents=True)
    off = i2c_missing_reason(1, dev=dev, sys=sys_root)
    assert off is not None and "dtparam=i2c_arm=on" in off and "not enabled" in off
    (sys_root / "bus" / "i2c" / "devices" / "i2c-1").mkdir()
    no_module = i2c_missing_reason(1, dev=dev, sys=sys_root)
    assert no_module is not None and "i2c-dev module is not loaded" in no_module
    assert "modprobe i2c-dev" in no_module and "modules-load.d" in no_module
    (dev / "i2c-1").touch()
    assert i2c_missing_reason(1, dev=dev, sys=sys_root) is None
