"""Hardware PWM through the kernel's sysfs interface (``/sys/class/pwm``).

Why hardware PWM: gpiozero's software PWM (lgpio) rounds the duty cycle to whole percent,
which gives a 50 Hz hobby servo about six usable positions. The kernel PWM block takes the
period and duty cycle in nanoseconds, so the servo gets 1 ns steps (far finer than the
servo's own dead band) and the pulses keep going, jitter-free, even while Python sleeps.

Why discovery: the ``pwmchipN`` number depends on the Pi model, the kernel and the order
in which drivers probed, so it is never hard-coded. The chip is recognised by the device
its ``device`` link points at (the PWM block's bus address), which is stable.

Why file descriptors stay open: an update is then exactly one ``os.write`` and happens
only when the value changed.

One duty write per PWM frame is ``hardware.pacer.DutyPacer`` (re-exported here).

Why the export waits for every attribute: the kernel creates ``pwmM/`` with its files
owned by root; Raspberry Pi OS's udev rule then hands ``period``, ``duty_cycle`` and
``enable`` to group gpio a few milliseconds later. Opening them before that fails with
EACCES for the service user, so the channel waits (bounded) until all three are writable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Protocol, runtime_checkable

from hardware.pacer import FLUSH_GRACE_NS, DutyPacer
from station.errors import HardwareError

# Re-exported: DutyPacer (one duty write a frame) lives in hardware.pacer.
__all__ = [
    "FLUSH_GRACE_NS",
    "DutyPacer",
    "PWMChannel",
    "PWMChannelBase",
    "SysfsPWMChannel",
    "discover_pwm_chip",
    "open_pwm_for_pin",
    "period_ns_for",
]

DEFAULT_SYSFS_ROOT = Path("/sys/class/pwm")
CONFIG_TXT = "/boot/firmware/config.txt"

# BCM2835/6/7/2711 (Pi 1-4, Zero, 400, CM4): PWM0 at <base>20c000 has two channels.
# GPIO12 (ALT0) and GPIO18 (ALT5) reach channel 0; GPIO13 (ALT0) and GPIO19 (ALT5) channel 1.
# The second block at <base>20c800 feeds the audio jack and is never used here.
BCM_PWM_SUFFIX = "20c000.pwm"
BCM_CHANNELS = {12: 0, 13: 1, 18: 0, 19: 1}
# RP1 (Pi 5): PWM0 at 1f00098000 has four channels: GPIO12/13 (a0) -> 0/1 and
# GPIO18/19 (a3) -> 2/3. PWM1 at 1f0009c000 drives the fan header: never touch it.
RP1_PWM_SUFFIX = "00098000.pwm"
RP1_CHANNELS = {12: 0, 13: 1, 18: 2, 19: 3}

# config.txt lines that route a pin to the PWM block (func = pin function: 4 = ALT0,
# 2 = ALT5), from /boot/firmware/overlays/README ("pwm-2chan").
_OVERLAY_HINT = {
    12: "dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4",
    13: "dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4",
    18: "dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2",
    19: "dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2",
}
EXPORT_TIMEOUT_S = 1.0  # udev makes a freshly exported channel writable a few ms later
ATTRIBUTES = ("period", "duty_cycle", "enable")


def writable(path: Path) -> bool:
    """Whether this process may write ``path`` (udev may not have handed it over yet)."""
    return os.access(path, os.W_OK)


class PWMLocation(NamedTuple):
    """Where a pin's PWM lives: the ``pwmchipN`` directory and the channel in it."""

    chip: Path
    channel: int


@runtime_checkable
class PWMChannel(Protocol):
    """One PWM output in nanoseconds; real (sysfs) and simulated channels both satisfy it."""

    @property
    def period_ns(self) -> int: ...

    @property
    def duty_cycle_ns(self) -> int: ...

    @property
    def enabled(self) -> bool: ...

    def set_duty_cycle_ns(self, duty_ns: int) -> None: ...

    def set_enabled(self, on: bool) -> None: ...

    def close(self) -> None: ...


def period_ns_for(frequency_hz: float) -> int:
    """The period in whole nanoseconds for ``frequency_hz`` (50 Hz -> 20 000 000)."""
    if not frequency_hz > 0:
        raise ValueError(f"frequency_hz = {frequency_hz!r}: must be above 0")
    return round(1e9 / frequency_hz)


def overlay_hint(pin: int) -> str:
    """The config.txt line that gives ``pin`` its PWM function."""
    return _OVERLAY_HINT.get(pin, _OVERLAY_HINT[18])


def _chip_identity(chip: Path) -> str:
    """The name of the device behind a pwmchip (e.g. ``fe20c000.pwm``)."""
    device = chip / "device"
    try:
        return Path(os.path.realpath(device)).name if device.exists() else ""
    except OSError:
        return ""


def _channel_map(identity: str) -> dict[int, int] | None:
    if identity.endswith(RP1_PWM_SUFFIX):
        return RP1_CHANNELS
    if identity.endswith(BCM_PWM_SUFFIX):
        return BCM_CHANNELS
    return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def discover_pwm_chip(pin: int, *, sysfs_root: Path = DEFAULT_SYSFS_ROOT) -> PWMLocation:
    """Find the pwmchip and channel that drive GPIO ``pin``.

    Raises ``HardwareError`` naming the pin, what was found and the config.txt line to add
    when the pin has no hardware PWM or the PWM block is not enabled.
    """
    device = f"GPIO{pin}"
    if pin not in BCM_CHANNELS:
        raise HardwareError(
            device,
            f"has no hardware PWM; use GPIO12, 13, 18 or 19 (pins with hardware PWM) "
            f"and add `{overlay_hint(18)}` to {CONFIG_TXT}",
        )
    seen: list[str] = []
    chips = sorted(sysfs_root.glob("pwmchip*"), key=lambda p: (len(p.name), p.name))
    for chip in chips:
        identity = _chip_identity(chip)
        npwm = _read_int(chip / "npwm")
        seen.append(f"{chip.name} ({identity or 'unknown device'}, npwm={npwm})")
        mapping = _channel_map(identity)
        if mapping is None:
            continue
        channel = mapping[pin]
        if npwm is not None and channel >= npwm:
            continue
        return PWMLocation(chip, channel)
    found = "; found: " + ", ".join(seen) if seen else f"; {sysfs_root} has no pwmchip at all"
    raise HardwareError(
        device,
        f"no hardware PWM block drives this pin{found}. Add `{overlay_hint(pin)}` to "
        f"{CONFIG_TXT} (on a Pi 5 see /boot/firmware/overlays/README for the pin's "
        "function) and reboot",
    )


class PWMChannelBase:
    """What every PWM channel shares: the state, the range check and "write only when
    changed". A backend supplies ``_write(name, value)`` for ``enable``, ``duty_cycle``
    and ``period`` and ``_is_open()``; so the simulator makes exactly the writes the sysfs
    channel would."""

    _label = "pwm"

    def __init__(self) -> None:
        self._period_ns = 0
        self._duty_ns = 0
        self._enabled = False

    def _write(self, name: str, value: int) -> None:
        raise NotImplementedError

    def _is_open(self) -> bool:
        raise NotImplementedError

    def _initialise(self, period_ns: int) -> None:
        """Known state first: no pulses, duty 0 (always <= any period), then the period."""
        self._write("enable", 0)
        self._write("duty_cycle", 0)
        self._write("period", period_ns)
        self._period_ns = period_ns

    @property
    def period_ns(self) -> int:
        return self._period_ns

    @property
    def duty_cycle_ns(self) -> int:
        return self._duty_ns

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_duty_cycle_ns(self, duty_ns: int) -> None:
        """Set the high time; one write, none when unchanged."""
        duty = int(duty_ns)
        if duty == self._duty_ns:
            return
        if not 0 <= duty <= self._period_ns:
            raise ValueError(
                f"{self._label}: duty_cycle_ns = {duty}: must be 0..{self._period_ns} (the period)"
            )
        self._require_open()
        self._write("duty_cycle", duty)
        self._duty_ns = duty

    def set_enabled(self, on: bool) -> None:
        """Start (True) or stop (False) the pulses; a stopped output stays low."""
        on = bool(on)
        if on == self._enabled:
            return
        self._require_open()
        self._write("enable", int(on))
        self._enabled = on

    def _require_open(self) -> None:
        if not self._is_open():
            raise HardwareError(self._label, "the PWM channel is closed")

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> PWMChannelBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._label}, period={self._period_ns} ns, "
            f"duty={self._duty_ns} ns, enabled={self._enabled})"
        )


class SysfsPWMChannel(PWMChannelBase):
    """One exported PWM channel: period, duty cycle and enable, all in nanoseconds.

    The constructor exports the channel (unless a previous run left it exported), disables
    it and sets the period, so a servo gets no pulses until ``set_enabled(True)``.
    ``close()`` disables and unexports it.
    """

    def __init__(
        self,
        *,
        chip: Path,
        channel: int,
        frequency_hz: float,
        export_timeout_s: float = EXPORT_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.chip = Path(chip)
        self.channel = int(channel)
        self.frequency_hz = float(frequency_hz)
        self.path = self.chip / f"pwm{self.channel}"
        self._label = f"{self.chip.name}/pwm{self.channel}"
        self._fds: dict[str, int] = {}
        self._exported = False
        try:
            self._export(export_timeout_s)
            for name in ATTRIBUTES:
                self._fds[name] = os.open(self.path / name, os.O_WRONLY | os.O_CLOEXEC)
            self._initialise(period_ns_for(self.frequency_hz))
        except OSError as exc:
            self.close()
            raise HardwareError(
                self._label, f"cannot set up the PWM channel: {exc.strerror or exc}"
            ) from exc

    # -- set-up -----------------------------------------------------------------------
    def _export(self, timeout_s: float) -> None:
        if not self.path.is_dir():
            try:
                with open(self.chip / "export", "w") as f:
                    f.write(f"{self.channel}\n")
            except OSError as exc:
                if exc.errno != errno.EBUSY:  # EBUSY: already exported by someone
                    raise
        self._exported = True  # from here on close() unexports, even if the wait fails
        deadline = time.monotonic() + timeout_s
        while True:
            missing = [a for a in ATTRIBUTES if not (self.path / a).exists()]
            locked = [a for a in ATTRIBUTES if a not in missing and not writable(self.path / a)]
            if not missing and not locked:
                return
            if time.monotonic() > deadline:
                if missing:
                    what = f"{', '.join(missing)} did not appear"
                else:
                    what = f"{', '.join(locked)} is not writable by this user"
                raise OSError(
                    errno.ETIMEDOUT,
                    f"{self.path}: {what} {timeout_s:g} s after export; check that the "
                    "service user is in group gpio and that udev's rule for /sys/class/pwm "
                    "is installed (Raspberry Pi OS ships it), or run `ls -l "
                    f"{self.path}` to see the owner",
                )
            time.sleep(0.002)

    def _write(self, name: str, value: int) -> None:
        os.write(self._fds[name], b"%d\n" % value)

    def _is_open(self) -> bool:
        return bool(self._fds)

    def close(self) -> None:
        """Disable, close the files and unexport. Safe to call twice; never raises."""
        if self._enabled and "enable" in self._fds:
            with contextlib.suppress(OSError):
                self._write("enable", 0)
        self._enabled = False
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._exported:
            with contextlib.suppress(OSError), open(self.chip / "unexport", "w") as f:
                f.write(f"{self.channel}\n")
            self._exported = False


def open_pwm_for_pin(
    pin: int, *, frequency_hz: float, sysfs_root: Path = DEFAULT_SYSFS_ROOT
) -> SysfsPWMChannel:
    """Discover the chip for ``pin`` and open its channel at ``frequency_hz``."""
    location = discover_pwm_chip(pin, sysfs_root=sysfs_root)
    return SysfsPWMChannel(chip=location.chip, channel=location.channel, frequency_hz=frequency_hz)
