"""A fake Raspberry Pi for the Pi tests (tests/hardware/test_pi*.py): /sys, /dev and
/proc/device-tree under one directory, laid out as the kernel's documentation says (see
tests/hardware/test_pi.py's docstring for the sources)."""

from __future__ import annotations

import struct
from pathlib import Path

from hardware.pi import GpioChip, PiPaths

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


def be32(value: int) -> bytes:
    return struct.pack(">I", value)


def full_pi5(tmp_path: Path, persist: str) -> FakePi:
    fake = FakePi(tmp_path)
    pi5_kernel_6_6_45(fake)
    fake.param("pinctrl_rp1", "persist_gpio_outputs", persist)
    fake.dt("aliases/i2c1", b"/axi/pcie@120000/rp1/i2c@74000\0")
    fake.dt("axi/pcie@120000/rp1/i2c@74000/clock-frequency", be32(100_000))
    return fake


RP1 = GpioChip(0, "pinctrl-rp1", Path("/dev/gpiochip0"))
