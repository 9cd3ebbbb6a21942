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
import struct
import sys
import types
from pathlib import Path

import pytest

from hardware import pi
from hardware.backend import claim, open_hardware, probe_pi, real_pin_factory
from hardware.pi import GpioChip, PiError, PiPaths
from station.errors import HardwareError
from station.wiring import load_wiring

PI5 = "Raspberry Pi 5 Model B Rev 1.0"
PI4 = "Raspberry Pi 4 Model B Rev 1.5"
BRCMSTB = [
    "gpio-brcmstb@107d508500",
    "gpio-brcmstb@107d508520",
    "gpio-brcmstb@107d517c00",
    "gpio-brcmstb@107d517c20",
]


class FakePi:
    """A fake /sys, /dev and /proc/device-tree under one directory."""

    def __init__(self, base: Path, model: str = PI5) -> None:
        self.paths = PiPaths(sys=base / "sys", dev=base / "dev", device_tree=base / "dt")
        for d in (self.paths.sys, self.paths.dev, self.paths.device_tree):
            d.mkdir()
        (self.paths.device_tree / "model").write_bytes(model.encode() + b"\0")
        self._next_base = 512

    def chip(
        self, number: int, label: str, ngpio: int = 32, *, bus: bool = True, cls: bool = True
    ) -> None:
        """One gpio device: /sys/devices/.../gpiochipN, its legacy class device
        gpio/gpiochipB below it, the bus and class links, and /dev/gpiochipN."""
        base = self._next_base
        self._next_base += ngpio
        gdev = self.paths.sys / "devices" / "platform" / f"ctl{number}" / f"gpiochip{number}"
        legacy = gdev / "gpio" / f"gpiochip{base}"
        legacy.mkdir(parents=True)
        (legacy / "label").write_text(label + "\n")
        (legacy / "base").write_text(f"{base}\n")
        (legacy / "ngpio").write_text(f"{ngpio}\n")
        (legacy / "device").symlink_to("../..")
        if bus:
            bus_dir = self.paths.sys / "bus" / "gpio" / "devices"
            bus_dir.mkdir(parents=True, exist_ok=True)
            (bus_dir / f"gpiochip{number}").symlink_to(gdev)
        if cls:
            cls_dir = self.paths.sys / "class" / "gpio"
            cls_dir.mkdir(parents=True, exist_ok=True)
            (cls_dir / f"gpiochip{base}").symlink_to(legacy)
        (self.paths.dev / f"gpiochip{number}").write_text("")

    def dev_link(self, name: str, target: str) -> None:
        (self.paths.dev / name).symlink_to(target)

    def param(self, module: str, name: str, value: str) -> None:
        d = self.paths.sys / "module" / module / "parameters"
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(value + "\n")

    def dt(self, rel: str, data: bytes) -> None:
        path = self.paths.device_tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def pi5_kernel_6_6_44(fake: FakePi) -> None:
    for n, label in enumerate(BRCMSTB):
        fake.chip(n, label)
    fake.chip(4, "pinctrl-rp1", 54)


def pi5_kernel_6_6_45(fake: FakePi) -> None:
    fake.chip(0, "pinctrl-rp1", 54)
    for n, label in zip(range(10, 14), BRCMSTB, strict=True):
        fake.chip(n, label)
    fake.dev_link("gpiochip4", "gpiochip0")  # the compatibility link udev adds


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
RP1 = GpioChip(0, "pinctrl-rp1", Path("/dev/gpiochip0"))
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
def be32(value: int) -> bytes:
    return struct.pack(">I", value)


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


# -- the backend on a fake Pi -------------------------------------------------------------------
def full_pi5(tmp_path: Path, persist: str) -> FakePi:
    fake = FakePi(tmp_path)
    pi5_kernel_6_6_45(fake)
    fake.param("pinctrl_rp1", "persist_gpio_outputs", persist)
    fake.dt("aliases/i2c1", b"/axi/pcie@120000/rp1/i2c@74000\0")
    fake.dt("axi/pcie@120000/rp1/i2c@74000/clock-frequency", be32(100_000))
    return fake


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
            load_wiring(), simulate=False, data_dir=tmp_path, pi_paths=fake.paths,
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
        ["SET_PULL_NONE", "SET_PULL_UP", "SET_PULL_DOWN", "BOTH_EDGES", "RISING_EDGE",
         "FALLING_EDGE"]
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


def test_fake_tree_links_resolve_like_sysfs(tmp_path):
    """The fake's legacy ``device`` link leads to the gpio device (sanity of the fixture)."""
    fake = FakePi(tmp_path)
    fake.chip(0, "pinctrl-rp1", 54)
    link = fake.paths.sys / "class" / "gpio" / "gpiochip512" / "device"
    assert Path(os.path.realpath(link)).name == "gpiochip0"


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
