"""The Pi's kernel views, against fake sysfs / device-tree trees.

The layouts are restated from outside the code: the kernel's sysfs ABI
(Documentation/ABI/obsolete/sysfs-gpio: /sys/class/gpio/gpiochipN with base, label and
ngpio, N being the chip's first GPIO number; each gpio device is gpiochipN on the gpio
bus, N being its /dev/gpiochipN number, and the legacy class device sits below it), the
uapi header (GPIO_GET_CHIPINFO_IOCTL), the Pi kernels' chip numbering (gpiochip4 up to
6.6.44, gpiochip0 plus a gpiochip4 symlink from 6.6.45, only gpiochip11-15 from 6.12.96),
raspberrypi/linux #6117 and the upstream fix (strict_gpiod: the pinctrl drivers'
``persist_gpio_outputs`` parameter, mode 0444) and the device tree (clock-frequency is a
big-endian u32; the Pi's default I2C clock is 100 kHz).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from hardware import pi
from hardware.pi import GpioChip, PiError
from tests.hardware.fakepi import (
    BRCMSTB,
    PI4,
    PI5,
    RP1,
    FakePi,
    be32,
    pi5_kernel_6_6_44,
    pi5_kernel_6_6_45,
)


# -- the header's chip, by label ------------------------------------------------------------
def test_pi5_up_to_6_6_44_is_gpiochip4(tmp_path):
    fake = FakePi(tmp_path)
    pi5_kernel_6_6_44(fake)
    chip = pi.find_header_chip(PI5, fake.paths)
    assert (chip.number, chip.label) == (4, "pinctrl-rp1")
    assert chip.path == fake.paths.dev / "gpiochip4"


def test_pi5_from_6_6_45_is_gpiochip0_not_the_gpiochip4_link(tmp_path):
    fake = FakePi(tmp_path)
    pi5_kernel_6_6_45(fake)
    chip = pi.find_header_chip(PI5, fake.paths)
    assert (chip.number, chip.label) == (0, "pinctrl-rp1")
    assert chip.path == fake.paths.dev / "gpiochip0"


@pytest.mark.parametrize("rp1_at", [11, 12, 13, 14, 15])
def test_pi5_from_6_12_96_only_gpiochip11_to_15(tmp_path, rp1_at):
    fake = FakePi(tmp_path)
    others = iter(BRCMSTB)
    for n in range(11, 16):
        fake.chip(n, "pinctrl-rp1" if n == rp1_at else next(others), 54 if n == rp1_at else 32)
    chip = pi.find_header_chip(PI5, fake.paths)
    assert (chip.number, chip.label) == (rp1_at, "pinctrl-rp1")
    # gpiozero's default ("4 if /dev/gpiochip4 exists, else 0") has nothing to open here
    assert not (fake.paths.dev / "gpiochip4").exists()
    assert not (fake.paths.dev / "gpiochip0").exists()


def test_pi4_is_the_bcm2711_chip(tmp_path):
    fake = FakePi(tmp_path, PI4)
    fake.chip(0, "pinctrl-bcm2711", 58)
    fake.chip(1, "raspberrypi-exp-gpio", 8)
    chip = pi.find_header_chip(PI4, fake.paths)
    assert (chip.number, chip.label) == (0, "pinctrl-bcm2711")
    assert chip.driver_module == "pinctrl_bcm2835"  # the Pi 4's pinctrl driver


def test_the_legacy_class_alone_is_enough(tmp_path):
    """Found through /sys/class/gpio/gpiochipB (B = first GPIO number, 512 + ...) and its
    ``device`` link, when the gpio bus directory is not there."""
    fake = FakePi(tmp_path)
    for n, label in enumerate(BRCMSTB):
        fake.chip(n, label, bus=False)
    fake.chip(4, "pinctrl-rp1", 54, bus=False)
    assert pi.find_header_chip(PI5, fake.paths).number == 4
    assert (fake.paths.sys / "class" / "gpio" / "gpiochip640").exists()  # 512 + 4 * 32


def test_the_ioctl_is_the_last_resort_and_skips_links(tmp_path, monkeypatch):
    fake = FakePi(tmp_path)
    (fake.paths.dev / "gpiochip0").write_text("")
    (fake.paths.dev / "gpiochip10").write_text("")
    fake.dev_link("gpiochip4", "gpiochip0")
    asked: list[str] = []

    def info(path: Path):
        asked.append(path.name)
        return (path.name, {"gpiochip0": "pinctrl-rp1"}.get(path.name, BRCMSTB[0]), 54)

    monkeypatch.setattr(pi, "chip_info_ioctl", info)
    assert pi.find_header_chip(PI5, fake.paths).number == 0
    assert sorted(asked) == ["gpiochip0", "gpiochip10"]


def test_chipinfo_ioctl_number_is_the_uapi_one():
    # _IOR(0xB4, 0x01, struct gpiochip_info): read, 68-byte struct (32 + 32 + 4), type 0xB4
    assert pi.GPIO_GET_CHIPINFO_IOCTL == 0x8044B401


def test_wrong_chip_names_what_was_found_and_what_to_check(tmp_path):
    fake = FakePi(tmp_path, PI4)
    fake.chip(0, "pinctrl-rp1", 54)  # a Pi 4 model string on a Pi 5 tree
    with pytest.raises(PiError) as info:
        pi.find_header_chip(PI4, fake.paths)
    msg = str(info.value)
    assert info.value.device == "gpio"
    assert "pinctrl-bcm2711" in msg and "gpiochip0 (pinctrl-rp1)" in msg and "group gpio" in msg


def test_sysfs_chip_without_its_dev_node_is_named(tmp_path):
    fake = FakePi(tmp_path)
    fake.chip(0, "pinctrl-rp1", 54)
    (fake.paths.dev / "gpiochip0").unlink()
    with pytest.raises(PiError, match=r"gpiochip0: .*/dev/gpiochip0 does not exist.*udev"):
        pi.find_header_chip(PI5, fake.paths)


# -- strict_gpiod -------------------------------------------------------------------------------
BCM2711 = GpioChip(0, "pinctrl-bcm2711", Path("/dev/gpiochip0"))


def test_strict_in_force_on_pi5_when_outputs_do_not_persist(tmp_path):
    fake = FakePi(tmp_path)
    fake.param("pinctrl_rp1", "persist_gpio_outputs", "N")
    status = pi.require_strict_gpiod(RP1, fake.paths)
    assert status.in_force and "pinctrl_rp1/parameters/persist_gpio_outputs = N" in status.evidence


def test_strict_off_refuses_and_says_how_to_fix(tmp_path):
    fake = FakePi(tmp_path)
    fake.param("pinctrl_rp1", "persist_gpio_outputs", "Y")
    with pytest.raises(PiError) as info:
        pi.require_strict_gpiod(RP1, fake.paths)
    msg = str(info.value)
    assert info.value.device == "strict_gpiod"
    assert "persist_gpio_outputs = Y" in msg and "refuses to arm" in msg
    assert "dtparam=strict_gpiod" in msg and "/boot/firmware/config.txt" in msg
    assert "mid-2024" in msg and "reboot" in msg


def test_pi4_reads_the_bcm2835_driver_not_rp1(tmp_path):
    fake = FakePi(tmp_path, PI4)
    fake.param("pinctrl_rp1", "persist_gpio_outputs", "N")  # not the Pi 4's driver
    fake.param("pinctrl_bcm2835", "persist_gpio_outputs", "Y")
    with pytest.raises(PiError, match="pinctrl_bcm2835/parameters/persist_gpio_outputs = Y"):
        pi.require_strict_gpiod(BCM2711, fake.paths)
    fake.param("pinctrl_bcm2835", "persist_gpio_outputs", "N")
    assert pi.require_strict_gpiod(BCM2711, fake.paths).in_force


def test_first_downstream_form_strict_gpiod_parameter(tmp_path):
    fake = FakePi(tmp_path, PI4)
    fake.param("pinctrl_bcm2835", "strict_gpiod", "Y")
    assert pi.require_strict_gpiod(BCM2711, fake.paths).in_force
    fake.param("pinctrl_bcm2835", "strict_gpiod", "N")
    with pytest.raises(PiError, match="is off"):
        pi.require_strict_gpiod(BCM2711, fake.paths)


def test_kernel_without_the_option_cannot_confirm_and_refuses(tmp_path):
    fake = FakePi(tmp_path)
    with pytest.raises(PiError, match=r"cannot be confirmed .*older than mid-2024"):
        pi.require_strict_gpiod(RP1, fake.paths)


# -- the I2C clock ------------------------------------------------------------------------------
def test_pi4_clock_from_the_alias_and_a_warning_naming_both(tmp_path, caplog):
    fake = FakePi(tmp_path, PI4)
    fake.dt("aliases/i2c1", b"/soc/i2c@7e804000\0")
    fake.dt("soc/i2c@7e804000/clock-frequency", bytes.fromhex("000186a0"))  # 100 kHz default
    assert pi.read_i2c_clock_hz(1, fake.paths.device_tree) == 100_000
    with caplog.at_level(logging.WARNING, logger="hardware.pi"):
        text = pi.check_i2c_clock(400_000, 1, fake.paths.device_tree)
    assert text is not None and text in caplog.text
    assert "100000 Hz" in text and "400000 Hz" in text
    assert "dtparam=i2c_arm_baudrate=400000" in text and "/boot/firmware/config.txt" in text


def test_pi4_clock_without_the_alias_uses_bsc1(tmp_path):
    fake = FakePi(tmp_path, PI4)
    fake.dt("soc/i2c@7e804000/clock-frequency", be32(400_000))
    assert pi.read_i2c_clock_hz(1, fake.paths.device_tree) == 400_000


def test_pi5_clock_from_the_rp1_node_matching_is_silent(tmp_path, caplog):
    fake = FakePi(tmp_path)
    node = "axi/pcie@120000/rp1/i2c@74000"
    fake.dt("aliases/i2c1", b"/" + node.encode() + b"\0")
    fake.dt(f"{node}/clock-frequency", be32(400_000))
    with caplog.at_level(logging.WARNING, logger="hardware.pi"):
        assert pi.check_i2c_clock(400_000, 1, fake.paths.device_tree) is None
    assert caplog.text == ""


def test_no_clock_in_the_tree_is_no_warning(tmp_path):
    fake = FakePi(tmp_path)
    assert pi.read_i2c_clock_hz(1, fake.paths.device_tree) is None
    assert pi.check_i2c_clock(400_000, 1, fake.paths.device_tree) is None


def test_fake_tree_links_resolve_like_sysfs(tmp_path):
    """The fake's legacy ``device`` link leads to the gpio device (sanity of the fixture)."""
    fake = FakePi(tmp_path)
    fake.chip(0, "pinctrl-rp1", 54)
    link = fake.paths.sys / "class" / "gpio" / "gpiochip512" / "device"
    assert Path(os.path.realpath(link)).name == "gpiochip0"
