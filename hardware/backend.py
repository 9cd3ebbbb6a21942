"""Build the station's hardware from the wiring config: simulated or real, same drivers.

``open_hardware`` composes the small device classes (HapticDriver on a mux channel with
its EN pin, BrushArm on a PWM channel, Panel) over either the simulator's physical layer
or the Pi's: lgpio on the header's gpiochip (found by its label, ``hardware.pi``),
/dev/i2c-N and sysfs PWM. The engine process is the only caller. Opening forces every
output off before it returns, so a station that starts (or restarts after a crash)
starts silent.

On a Pi, before any pin is claimed: the header's chip is found by label, ``strict_gpiod``
must be in force (a crashed engine's lines then revert to inputs and the EN pull-downs
turn every driver off; without it the station refuses to open, hence to arm), and the
I2C clock in the device tree is compared with the wiring's (a warning). RPi.GPIO is not
used: it writes the GPIO registers directly, so strict_gpiod cannot protect its pins, and
it does not work on a Pi 5.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpiozero import DigitalOutputDevice

from hardware.brush import BrushArm
from hardware.calibration import CalibrationStore
from hardware.haptics import HapticDriver
from hardware.interfaces import Brush, Haptic, Panel
from hardware.mux import MuxState
from hardware.panel import GpioPanel
from hardware.pi import (
    CONFIG_TXT,
    GpioChip,
    PiError,
    PiPaths,
    check_i2c_clock,
    find_header_chip,
    require_strict_gpiod,
)
from hardware.pwm import PWMChannel
from hardware.trace import Trace
from station.errors import HardwareError
from station.wiring import WiringConfig

BRUSH_DETACH_DELAY_S = 0.3  # keep the park pulse long enough for the arm to swing clear
LGPIO_HINT = (
    "install the station with the 'pi' extra (pip install 'station[pi]', lgpio>=0.2.2.0; "
    "on Python 3.13 use Debian's python3-lgpio or install swig, liblgpio-dev and python3-dev)"
)


@dataclass
class HardwareSet:
    """Every device the engine drives, by actuator name, plus the simulator if any."""

    wiring: WiringConfig
    haptics: dict[str, Haptic]
    brushes: dict[str, Brush]
    panel: Panel
    sim: Any = None  # hardware.sim.simulator.Simulator when simulating
    bus: Any = None
    _closers: list[Any] = field(default_factory=list)

    def start_all(self) -> None:
        """EN high and initialise every haptic driver, attach brushes at park.
        A device that fails raises ``HardwareError`` naming it, with everything off."""
        try:
            for haptic in self.haptics.values():
                haptic.start()
            for brush in self.brushes.values():
                brush.start()
        except BaseException:
            self.all_off()
            raise

    def all_off(self) -> None:
        """Every output off. Never raises: each device's ``off`` swallows its own errors.
        Every EN line drops first (one GPIO write each, microseconds), then each driver gets
        its register writes (RTP 0, standby) over the bus, which take ~0.1 ms apiece."""
        for haptic in self.haptics.values():
            with contextlib.suppress(Exception):
                haptic.silence()
        for brush in self.brushes.values():
            with contextlib.suppress(Exception):
                brush.park()
        for haptic in self.haptics.values():
            with contextlib.suppress(Exception):
                haptic.off()
        for brush in self.brushes.values():
            with contextlib.suppress(Exception):
                brush.off()

    def close(self) -> None:
        self.all_off()
        for brush in self.brushes.values():
            with contextlib.suppress(Exception):
                brush.close()
        with contextlib.suppress(Exception):
            self.panel.close()
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer.close()
        self._closers.clear()

    def __enter__(self) -> HardwareSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_hardware(
    wiring: WiringConfig,
    *,
    simulate: bool,
    data_dir: Path,
    trace: Trace | None = None,
    device_ids: dict[str, int] | None = None,
    pi_paths: PiPaths | None = None,
    require_strict: bool = True,
    brush_clock: Any = None,
) -> HardwareSet:
    """Open every configured device with all outputs off. ``device_ids`` lets a test give
    a simulated chip a wrong device id; ``brush_clock`` (monotonic ns) paces the brushes'
    duty writes, one per PWM frame (a test whose sleeps are fake advances it). On a Pi,
    ``require_strict`` (the default) refuses to open without strict_gpiod; only
    ``station safe-off`` turns it off, since switching things off must work on any kernel."""
    store = CalibrationStore.in_data_dir(data_dir)
    chip: GpioChip | None = None
    if simulate:
        from hardware.sim.simulator import Simulator

        sim = Simulator(wiring=wiring, trace=trace, device_ids=device_ids)
        pin_factory: Any = sim.pins
        bus: Any = sim.bus
        pwm = {name: channel for name, channel in sim.pwm.items()}
    else:
        sim = None
        chip = probe_pi(wiring, paths=pi_paths, require_strict=require_strict)
        pin_factory = real_pin_factory(chip)
        bus = real_i2c_bus(wiring.i2c.bus)
        pwm = {}
    hw = HardwareSet(wiring=wiring, haptics={}, brushes={}, panel=None, sim=sim, bus=bus)  # type: ignore[arg-type]
    if chip is not None:
        hw._closers.append(pin_factory)  # closed last: releases the chip handle
    try:
        mux = MuxState(bus=bus, address=wiring.mux.address) if wiring.mux else None
        for h in wiring.haptic:
            enable = claim(
                f"the EN line of haptic '{h.name}'",
                h.enable_pin,
                chip,
                lambda h=h: DigitalOutputDevice(
                    h.enable_pin, initial_value=False, active_high=True, pin_factory=pin_factory
                ),
            )
            hw._closers.append(enable)
            channel_bus = mux.channel(h.channel) if mux and h.channel is not None else bus
            hw.haptics[h.name] = HapticDriver(
                config=h, bus=channel_bus, enable=enable, calibration_store=store
            )
        for b in wiring.brush:
            channel: PWMChannel
            if simulate:
                channel = pwm[b.name]
            else:
                from hardware.pwm import open_pwm_for_pin

                channel = open_pwm_for_pin(b.pwm_pin, frequency_hz=b.frequency_hz)
                hw._closers.append(channel)
            paced = {"clock": brush_clock} if brush_clock is not None else {}
            hw.brushes[b.name] = BrushArm(
                config=b, pwm=channel, detach_delay_s=BRUSH_DETACH_DELAY_S, **paced
            )
        hw.panel = claim(
            "a panel pin",
            None,
            chip,
            lambda: GpioPanel(config=wiring.panel, pin_factory=pin_factory),
        )
    except BaseException:
        hw.close()
        raise
    hw.all_off()
    return hw


def probe_pi(
    wiring: WiringConfig,
    *,
    paths: PiPaths | None = None,
    model: str | None = None,
    require_strict: bool = True,
) -> GpioChip:
    """Find the header's gpiochip by label, insist on strict_gpiod (unless told not to)
    and warn when the I2C clock differs from the wiring's. ``HardwareError`` on failure."""
    paths = paths or PiPaths()
    if model is None:
        from station.platform import pi_model

        model = pi_model(paths.device_tree / "model")
    try:
        chip = find_header_chip(model, paths)
        if require_strict:
            require_strict_gpiod(chip, paths)
    except PiError as exc:
        raise HardwareError(exc.device, exc.message) from None
    check_i2c_clock(wiring.i2c.frequency_hz, wiring.i2c.bus, paths.device_tree)
    return chip


def real_pin_factory(chip: GpioChip) -> Any:
    """gpiozero on lgpio, on the header's chip (never gpiozero's "4 if it exists else 0").
    Each way lgpio can fail becomes a ``HardwareError`` saying what to check."""
    try:
        import lgpio  # noqa: F401  (imported here so its failures are named)
    except ImportError:
        raise HardwareError("lgpio", f"the lgpio module is not installed; {LGPIO_HINT}") from None
    except OSError as exc:
        raise HardwareError(
            "lgpio",
            f"importing lgpio failed ({exc}): lgpio creates its notification FIFO (.lgd-nfy*) "
            "in the working directory, which must be writable by the service user; give the "
            "unit a writable WorkingDirectory= or set LG_WD to a writable directory",
        ) from None
    from gpiozero.pins.lgpio import LGPIOFactory

    try:
        return LGPIOFactory(chip=chip.number)
    except Exception as exc:  # lgpio.error, OSError
        raise HardwareError(
            f"gpiochip{chip.number}",
            f"lgpio cannot open {chip.path} ({chip.label}): {exc}. Check that the service "
            f"user is in group gpio (ls -l {chip.path}), that {chip.path} is the header's "
            "chip (gpioinfo) and that no other program holds it",
        ) from None


def claim(what: str, pin: int | None, chip: GpioChip | None, make: Any) -> Any:
    """Run ``make()`` (which claims GPIO lines); on a Pi, a failure becomes a
    ``HardwareError`` naming the pin, the chip and what to check."""
    if chip is None:
        return make()
    try:
        return make()
    except Exception as exc:  # lgpio.error, gpiozero's GPIOPinInUse/PinInvalidFunction...
        device = f"GPIO{pin}" if pin is not None else f"gpiochip{chip.number}"
        raise HardwareError(
            device,
            f"cannot claim {what} on {chip.path} ({chip.label}): {exc}. Check that no other "
            "program holds the line (gpioinfo shows its consumer), that the service user is "
            f"in group gpio, and that no dtoverlay in {CONFIG_TXT} gives the pin another "
            "function",
        ) from None


def i2c_missing_reason(
    number: int, *, dev: Path = Path("/dev"), sys: Path = Path("/sys")
) -> str | None:
    """Why ``/dev/i2c-N`` cannot be opened, or None when it exists. The kernel makes the
    adapter (``/sys/bus/i2c/devices/i2c-N``) when the bus is enabled in the device tree;
    the character device needs the ``i2c-dev`` module on top (Documentation/i2c/dev-
    interface in the kernel docs), which raspi-config loads from /etc/modules."""
    if (dev / f"i2c-{number}").exists():
        return None
    if (sys / "bus" / "i2c" / "devices" / f"i2c-{number}").exists():
        return (
            f"/dev/i2c-{number} does not exist although I2C bus {number} is enabled: the "
            "i2c-dev module is not loaded. Run: sudo modprobe i2c-dev, and make it load at "
            "boot (sudo ./install writes /etc/modules-load.d/station.conf)"
        )
    return (
        f"/dev/i2c-{number} does not exist: I2C bus {number} is not enabled. Add "
        "dtparam=i2c_arm=on to /boot/firmware/config.txt (or run raspi-config nonint "
        "do_i2c 0), make sure i2c-dev loads at boot, and reboot"
    )


def real_i2c_bus(number: int) -> Any:
    """/dev/i2c-N through Adafruit's ExtendedI2C (Blinka), with a clear error when I2C is
    off or i2c-dev is not loaded."""
    reason = i2c_missing_reason(number)
    if reason is not None:
        raise HardwareError(f"i2c-{number}", reason)
    try:
        from adafruit_extended_bus import ExtendedI2C
    except ImportError:
        raise HardwareError(
            f"i2c-{number}", "adafruit-extended-bus is missing; install the 'pi' extra"
        ) from None
    return ExtendedI2C(number)


def forced_off(
    wiring: WiringConfig,
    *,
    simulate: bool,
    data_dir: Path,
    trace: Trace | None = None,
    pi_paths: PiPaths | None = None,
    park_s: float = BRUSH_DETACH_DELAY_S,
    sleep: Any = None,
) -> list[str]:
    """Open the hardware and force every output off; used by ``station safe-off`` (the
    engine unit's ExecStopPost) after a crash, after its minimal path has already driven
    every EN line low. Every driver gets RTP 0 and standby; then each brush is parked for
    real: a freshly opened PWM channel sends no pulses, and a servo without pulses stays
    wherever the crash left it (maybe on the skin), so the park duty is set, pulses are
    enabled for ``park_s`` and then stopped (detached). Returns problems met (never raises).
    strict_gpiod is not required here: switching off must work on any kernel."""
    import time

    problems: list[str] = []
    try:
        hw = open_hardware(
            wiring,
            simulate=simulate,
            data_dir=data_dir,
            trace=trace,
            pi_paths=pi_paths,
            require_strict=False,
        )
    except Exception as exc:  # a last resort: report and carry on
        problems.append(str(exc))
        return problems
    try:
        parked = []
        for name, brush in hw.brushes.items():
            try:
                brush.start()  # park duty first, then pulses on
                parked.append(brush)
            except Exception as exc:
                problems.append(f"{name}: could not park the brush: {exc}")
        if parked:
            (sleep or time.sleep)(park_s)
    finally:
        hw.close()  # all_off: EN low, RTP 0, standby; brushes park and detach at once
    return problems
