"""What the Raspberry Pi must set up at boot for the station: the config.txt lines (and
adding them), the kernel modules to load, and systemd's hardware watchdog.

Only config.txt lines that are missing are added, once, in one marked block under
``[all]``; a line the maker set differently (another PWM pin, another bus speed) is
reported, never changed. The module list and the watchdog drop-in are whole files of the
station's own (``station.install.plan`` writes and removes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from station.install.host import Host

CONFIG_TXT = ("/boot/firmware/config.txt", "/boot/config.txt")  # Bookworm, then older
BLOCK_START = "# --- station: added by the station installer (see hardware/README.md) ---"
BLOCK_END = "# --- end station ---"

# modules-load.d(5): one kernel module name per line, read by systemd-modules-load at boot.
# i2c-dev makes /dev/i2c-1; dtparam=i2c_arm=on alone does not (raspi-config puts it in
# /etc/modules; an image set up without raspi-config has no /dev/i2c-1 at all).
MODULES_LOAD = "/etc/modules-load.d/station.conf"
MODULES = ("i2c-dev",)
# systemd-system.conf(5): RuntimeWatchdogSec= makes PID 1 program the hardware watchdog and
# pet it at half the interval; a kernel hang (which no software watchdog can catch, and
# which keeps every GPIO at its last level) then resets the board. The Broadcom watchdog
# counts to about 15 s at most; systemd picks the closest timeout the hardware allows.
WATCHDOG_DROPIN = "/etc/systemd/system.conf.d/station-watchdog.conf"
RUNTIME_WATCHDOG_SEC = "15s"


def modules_load_text() -> str:
    return (
        "# Loaded at boot by systemd-modules-load (modules-load.d(5)); installed by the\n"
        "# station installer, removed by ./install --uninstall. i2c-dev: /dev/i2c-1 for\n"
        "# the haptic drivers.\n" + "".join(f"{m}\n" for m in MODULES)
    )


def watchdog_dropin_text() -> str:
    return (
        "# Installed by the station installer, removed by ./install --uninstall.\n"
        "# systemd (PID 1) programs the hardware watchdog (dtparam=watchdog=on in config.txt)\n"
        "# and pets it; if the kernel hangs the board resets and every output drops.\n"
        "[Manager]\n"
        f"RuntimeWatchdogSec={RUNTIME_WATCHDOG_SEC}\n"
    )


@dataclass(frozen=True, kw_only=True)
class BootLine:
    """One config.txt line the station needs, with the reason shown before editing."""

    line: str
    why: str

    @property
    def key(self) -> str:
        """``dtparam=i2c_arm`` or ``dtoverlay=pwm-2chan``: what a conflicting line shares."""
        name, _, value = self.line.partition("=")
        return f"{name}={value.split(',')[0].split('=')[0]}"


def boot_lines(brush_pins: Sequence[int] = (18,)) -> list[BootLine]:
    """The config.txt lines for this wiring; the PWM overlay follows the brush pins."""
    chan0 = next((p for p in brush_pins if p in (12, 18)), 18)
    chan1 = next((p for p in brush_pins if p in (13, 19)), 19)
    func = {12: 4, 13: 4, 18: 2, 19: 2}  # ALT0 / ALT5 in the overlay's numbering
    overlay = f"dtoverlay=pwm-2chan,pin={chan0},func={func[chan0]},pin2={chan1},func2={func[chan1]}"
    return [
        BootLine(
            line="dtparam=i2c_arm=on",
            why="turns on I2C bus 1 (header pins 3 and 5), "
            "where the TCA9548A and the DRV2605 drivers sit",
        ),
        BootLine(
            line="dtparam=i2c_arm_baudrate=400000",
            why="400 kHz instead of 100 kHz: "
            "a register write through the mux drops from ~700 us to ~170 us, which the "
            "1 kHz engine loop needs",
        ),
        BootLine(
            line=overlay,
            why=f"routes hardware PWM to GPIO{chan0}/GPIO{chan1} for the "
            "brush servo; software PWM would give the servo only six positions",
        ),
        BootLine(
            line="dtparam=strict_gpiod",
            why="a released GPIO line reverts to an input, "
            "so the EN pull-downs switch the drivers off if the engine dies "
            "(otherwise the kernel keeps the last level)",
        ),
        BootLine(
            line="dtparam=watchdog=on",
            why="turns on the Broadcom hardware watchdog that systemd pets "
            f"(RuntimeWatchdogSec={RUNTIME_WATCHDOG_SEC}): a kernel hang resets the board "
            "instead of leaving a driver enabled",
        ),
    ]


def find_config_txt(host: Host) -> str | None:
    return next((p for p in CONFIG_TXT if host.path(p).is_file()), None)


def _active_lines(text: str) -> list[str]:
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


def missing_boot_lines(host: Host, lines: Sequence[BootLine]) -> tuple[list[BootLine], list[str]]:
    """(lines to add, conflicts): a line with the same key but another value is the
    maker's own choice; it is reported, never overwritten."""
    path = find_config_txt(host)
    if path is None:
        return [], []
    active = _active_lines(host.path(path).read_text(encoding="utf-8"))
    missing, conflicts = [], []
    for want in lines:
        if want.line in active:
            continue
        clash = [a for a in active if a != want.line and BootLine(line=a, why="").key == want.key]
        if clash:
            conflicts.append(f"{path} has `{clash[0]}` where the station expects `{want.line}`")
        else:
            missing.append(want)
    return missing, conflicts


def add_missing(host: Host, lines: Sequence[BootLine]) -> None:
    """Append the missing lines (keeping a one-time backup of the original file)."""
    path = find_config_txt(host)
    if path is None:
        return
    missing, _ = missing_boot_lines(host, lines)
    if not missing:
        return
    text = host.path(path).read_text(encoding="utf-8")
    if not host.path(path + ".station-backup").exists():
        host.write(path + ".station-backup", text, None)
    # [all]: the file may end inside a model filter such as [cm4]; ours apply everywhere.
    block = "\n".join([BLOCK_START, "[all]", *(m.line for m in missing), BLOCK_END])
    host.write(path, text.rstrip("\n") + "\n\n" + block + "\n", None)
