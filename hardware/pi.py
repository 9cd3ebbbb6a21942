"""What a Raspberry Pi's kernel says about its GPIO and I2C, read from sysfs and the device tree.

Standard library only (no pydantic, no gpiozero): ``station safe-off`` uses the chip
finder on its minimal "EN low first" path. Errors are ``PiError`` (device + message);
``hardware.backend`` turns them into ``HardwareError``.

**The header's GPIO chip, by its label.** The 40-pin header is driven by the chip
labelled ``pinctrl-rp1`` on a Pi 5, ``pinctrl-bcm2711`` on a Pi 4/400/CM4 and
``pinctrl-bcm2835`` on older models. Its ``/dev/gpiochipN`` number depends on the kernel:
on a Pi 5 it was gpiochip4 up to 6.6.44, gpiochip0 from 6.6.45 (udev adds a gpiochip4
symlink), and reports from 6.12.96 show only gpiochip11-15. gpiozero's default ("4 if
it exists, else 0") therefore picks whatever sits at 4 or 0, so the chip is found here by
label, from (in order):

1. ``/sys/bus/gpio/devices/gpiochipN``: one entry per gpio device, N being the
   ``/dev/gpiochipN`` number; its label is ``label`` in it (where a kernel exposes one) or
   that of the legacy class device below it, ``gpio/gpiochipB/label``.
2. ``/sys/class/gpio/gpiochipB/label`` (Documentation/ABI/obsolete/sysfs-gpio: B is the
   chip's first GPIO *number*, not its device number), whose ``device`` link names the
   gpio device ``gpiochipN``.
3. ``GPIO_GET_CHIPINFO_IOCTL`` on each ``/dev/gpiochipN`` (include/uapi/linux/gpio.h).

**strict_gpiod.** The Raspberry Pi kernel keeps a released output at its last level; the
``dtparam=strict_gpiod`` makes released lines revert to inputs (raspberrypi/linux #6117).
It is a parameter of the pinctrl driver: ``persist_gpio_outputs`` (N = strict) in kernels
with the upstream form, ``strict_gpiod`` (Y = strict) in the first downstream form, read
from ``/sys/module/pinctrl_rp1/parameters/`` (Pi 5) or
``/sys/module/pinctrl_bcm2835/parameters/`` (Pi 0-4). A kernel without either file is
older than mid-2024 and ignores the dtparam silently.

**The I2C clock.** The bus runs at what config.txt set (``dtparam=i2c_arm_baudrate``),
whatever a library asks for. The device tree holds it: ``/proc/device-tree/aliases/i2cN``
names the controller's node, whose ``clock-frequency`` is a big-endian u32 (Pi 4:
/soc/i2c@7e804000; Pi 5: the RP1 controller under /axi).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG_TXT = "/boot/firmware/config.txt"
PI5_LABEL = "pinctrl-rp1"
PI4_LABEL = "pinctrl-bcm2711"
OLDER_LABEL = "pinctrl-bcm2835"
HEADER_LABELS = (PI5_LABEL, PI4_LABEL, OLDER_LABEL)
# The pinctrl driver (KBUILD_MODNAME) behind each header chip label: where strict_gpiod lives.
DRIVER_MODULE = {
    PI5_LABEL: "pinctrl_rp1",
    PI4_LABEL: "pinctrl_bcm2835",
    OLDER_LABEL: "pinctrl_bcm2835",
}
# struct gpiochip_info { char name[32]; char label[32]; __u32 lines; } = 68 bytes;
# GPIO_GET_CHIPINFO_IOCTL = _IOR(0xB4, 0x01, struct gpiochip_info).
_CHIPINFO = struct.Struct("32s32sI")
GPIO_GET_CHIPINFO_IOCTL = (2 << 30) | (_CHIPINFO.size << 16) | (0xB4 << 8) | 0x01
_CHIP_RE = re.compile(r"^gpiochip(\d+)$")
STRICT_FIX = (
    f"add `dtparam=strict_gpiod` to {CONFIG_TXT} (needs a Raspberry Pi kernel from mid-2024 "
    "on: sudo apt full-upgrade) and reboot"
)


class PiError(Exception):
    """A Pi-level problem naming the device, what was found and what to check."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        self.message = message
        super().__init__(f"{device}: {message}")


@dataclass(frozen=True)
class PiPaths:
    """Where the kernel's views live; tests point these at a fake tree."""

    sys: Path = Path("/sys")
    dev: Path = Path("/dev")
    device_tree: Path = Path("/proc/device-tree")


@dataclass(frozen=True)
class GpioChip:
    number: int  # N in /dev/gpiochipN
    label: str
    path: Path  # /dev/gpiochipN

    @property
    def driver_module(self) -> str:
        return DRIVER_MODULE.get(self.label, "")


def header_labels(model: str | None) -> tuple[str, ...]:
    """The label(s) of the chip behind the 40-pin header for a board ``model`` string."""
    if model and model.startswith("Raspberry Pi 5"):
        return (PI5_LABEL,)
    if model and (
        model.startswith(("Raspberry Pi 4", "Raspberry Pi 400"))
        or model.startswith("Raspberry Pi Compute Module 4")
    ):
        return (PI4_LABEL,)
    if model and model.startswith("Raspberry Pi"):
        return (OLDER_LABEL, PI4_LABEL)  # older models and unknown newer 2711 variants
    return HEADER_LABELS


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().rstrip(b"\x00\n ").decode("ascii", "replace").strip()
    except OSError:
        return None


def _chip_number(name: str) -> int | None:
    m = _CHIP_RE.match(name)
    return int(m.group(1)) if m else None


def _sysfs_bus_chips(sys_root: Path) -> dict[int, str]:
    """{N: label} from /sys/bus/gpio/devices/gpiochipN."""
    found: dict[int, str] = {}
    bus = sys_root / "bus" / "gpio" / "devices"
    with contextlib.suppress(OSError):
        for entry in bus.iterdir():
            number = _chip_number(entry.name)
            if number is None:
                continue
            label = _read_text(entry / "label")
            if not label:
                for legacy in sorted((entry / "gpio").glob("gpiochip*/label")):
                    label = _read_text(legacy)
                    if label:
                        break
            if label:
                found[number] = label
    return found


def _sysfs_class_chips(sys_root: Path) -> dict[int, str]:
    """{N: label} from /sys/class/gpio/gpiochipB/{label,device}."""
    found: dict[int, str] = {}
    cls = sys_root / "class" / "gpio"
    with contextlib.suppress(OSError):
        for entry in cls.glob("gpiochip*"):
            label = _read_text(entry / "label")
            try:
                parent = Path(os.path.realpath(entry / "device")).name
            except OSError:
                continue
            number = _chip_number(parent)
            if label and number is not None:
                found.setdefault(number, label)
    return found


def chip_info_ioctl(path: Path) -> tuple[str, str, int]:
    """(name, label, lines) of a gpiochip character device, by GPIO_GET_CHIPINFO_IOCTL."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        buf = bytearray(_CHIPINFO.size)
        fcntl.ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, buf, True)
    finally:
        os.close(fd)
    name, label, lines = _CHIPINFO.unpack(bytes(buf))
    return (
        name.split(b"\x00", 1)[0].decode("ascii", "replace"),
        label.split(b"\x00", 1)[0].decode("ascii", "replace"),
        lines,
    )


def _ioctl_chips(dev_root: Path) -> dict[int, str]:
    found: dict[int, str] = {}
    with contextlib.suppress(OSError):
        for entry in dev_root.glob("gpiochip*"):
            number = _chip_number(entry.name)
            if number is None or entry.is_symlink():
                continue  # a udev compatibility link (gpiochip4 -> gpiochip0) is no chip
            with contextlib.suppress(OSError):
                found[number] = chip_info_ioctl(entry)[1]
    return found


def list_gpio_chips(paths: PiPaths = PiPaths()) -> dict[int, str]:
    """Every gpio chip the kernel shows, {device number: label}, from sysfs, else ioctl."""
    chips = _sysfs_bus_chips(paths.sys)
    for number, label in _sysfs_class_chips(paths.sys).items():
        chips.setdefault(number, label)
    if not chips:
        chips = _ioctl_chips(paths.dev)
    return dict(sorted(chips.items()))


def find_header_chip(model: str | None, paths: PiPaths = PiPaths()) -> GpioChip:
    """The gpio chip that drives the 40-pin header, found by its label (never by number)."""
    wanted = header_labels(model)
    chips = list_gpio_chips(paths)
    for label in wanted:
        for number, found in chips.items():
            if found == label:
                dev = paths.dev / f"gpiochip{number}"
                if not dev.exists():
                    raise PiError(
                        f"gpiochip{number}",
                        f"the header's GPIO chip ({label}) is gpiochip{number} in sysfs but "
                        f"{dev} does not exist; check that udev is running and that "
                        f"{paths.dev} is not hidden from the service (PrivateDevices=)",
                    )
                return GpioChip(number, label, dev)
    seen = ", ".join(f"gpiochip{n} ({lbl})" for n, lbl in chips.items()) or "no GPIO chip at all"
    raise PiError(
        "gpio",
        f"no GPIO chip labelled {' or '.join(wanted)} (the header of "
        f"{model or 'this board'}); found: {seen}. Check that this is a Raspberry Pi running "
        f"Raspberry Pi OS's kernel, that {paths.sys}/bus/gpio and {paths.dev}/gpiochip* are "
        "visible to the service, and that the user is in group gpio",
    )


# -- strict_gpiod -------------------------------------------------------------------------
@dataclass(frozen=True)
class StrictGpiod:
    in_force: bool | None  # None: the kernel does not say (too old to have the option)
    evidence: str  # the file and value read, or where it looked


def strict_gpiod_status(chip: GpioChip, paths: PiPaths = PiPaths()) -> StrictGpiod:
    """Whether released lines of ``chip`` revert to inputs, from the pinctrl driver's
    module parameters in sysfs."""
    modules = [chip.driver_module] if chip.driver_module else sorted(set(DRIVER_MODULE.values()))
    looked: list[str] = []
    for module in modules:
        params = paths.sys / "module" / module / "parameters"
        persist = params / "persist_gpio_outputs"
        value = _read_text(persist)
        if value is not None:
            return StrictGpiod(value.upper() in ("N", "0"), f"{persist} = {value}")
        strict = params / "strict_gpiod"
        value = _read_text(strict)
        if value is not None:
            return StrictGpiod(value.upper() in ("Y", "1"), f"{strict} = {value}")
        looked += [str(persist), str(strict)]
    return StrictGpiod(None, "neither " + " nor ".join(looked) + " exists")


def require_strict_gpiod(chip: GpioChip, paths: PiPaths = PiPaths()) -> StrictGpiod:
    """Raise ``PiError`` unless released lines are known to revert to inputs: otherwise a
    crashed or killed engine would leave every EN line, and so every driver, as it was."""
    status = strict_gpiod_status(chip, paths)
    if status.in_force:
        return status
    why = (
        "is off"
        if status.in_force is False
        else "cannot be confirmed (this kernel has no such option: it is older than mid-2024)"
    )
    raise PiError(
        "strict_gpiod",
        f"{why}: {status.evidence}. Without it the outputs of a crashed engine stay as they "
        f"were (a driver could keep vibrating), so the station refuses to arm. Fix: {STRICT_FIX}",
    )


# -- I2C clock ----------------------------------------------------------------------------
def i2c_node(bus: int, device_tree: Path) -> Path | None:
    """The device-tree node of I2C bus ``bus`` from its alias (e.g. i2c1), or None."""
    target = _read_text(device_tree / "aliases" / f"i2c{bus}")
    if target and target.startswith("/"):
        return device_tree / target.lstrip("/")
    if bus == 1:  # Pi 0-4 without the alias: the ARM I2C controller BSC1
        legacy = device_tree / "soc" / "i2c@7e804000"
        if legacy.is_dir():
            return legacy
    return None


def read_i2c_clock_hz(bus: int, device_tree: Path = Path("/proc/device-tree")) -> int | None:
    """The I2C bus clock the kernel runs ``bus`` at (Hz), or None when not found."""
    node = i2c_node(bus, device_tree)
    if node is None:
        return None
    try:
        raw = (node / "clock-frequency").read_bytes()
    except OSError:
        return None
    if len(raw) != 4:
        return None
    return struct.unpack(">I", raw)[0]


def check_i2c_clock(
    expected_hz: int, bus: int, device_tree: Path = Path("/proc/device-tree")
) -> str | None:
    """Warn (log, and return the text) when the bus clock is not what the wiring expects."""
    actual = read_i2c_clock_hz(bus, device_tree)
    if actual is None:
        log.debug("i2c-%d: no clock-frequency in the device tree under %s", bus, device_tree)
        return None
    if actual == expected_hz:
        return None
    text = (
        f"i2c-{bus} runs at {actual} Hz (device tree) but the wiring's [i2c] frequency_hz is "
        f"{expected_hz} Hz; set `dtparam=i2c_arm_baudrate={expected_hz}` in {CONFIG_TXT} and "
        "reboot, or set frequency_hz to the real clock"
    )
    log.warning("%s", text)
    return text
