"""Build the station's hardware from the wiring config: simulated or real, same drivers.

``open_hardware`` composes the small device classes (HapticDriver on a mux channel with
its EN pin, BrushArm on a PWM channel, Panel) over either the simulator's physical layer
or the Pi's: lgpio (or RPi.GPIO on a Pi 4 and earlier), /dev/i2c-N and sysfs PWM. The
engine process is the only caller. Opening forces every output off before it returns,
so a station that starts (or restarts after a crash) starts silent.
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
from hardware.panel import Panel as GpioPanel
from hardware.trace import Trace
from station.errors import HardwareError
from station.wiring import WiringConfig

BRUSH_DETACH_DELAY_S = 0.3  # keep the park pulse long enough for the arm to swing clear


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
) -> HardwareSet:
    """Open every configured device with all outputs off. ``device_ids`` lets a test give
    a simulated chip a wrong device id."""
    store = CalibrationStore.in_data_dir(data_dir)
    if simulate:
        from hardware.sim.simulator import Simulator

        sim = Simulator(wiring=wiring, trace=trace, device_ids=device_ids)
        pin_factory: Any = sim.pins
        bus: Any = sim.bus
        pwm = {name: channel for name, channel in sim.pwm.items()}
    else:
        sim = None
        pin_factory = real_pin_factory()
        bus = real_i2c_bus(wiring.i2c.bus)
        pwm = {}
    hw = HardwareSet(wiring=wiring, haptics={}, brushes={}, panel=None, sim=sim, bus=bus)  # type: ignore[arg-type]
    try:
        mux = MuxState(bus=bus, address=wiring.mux.address) if wiring.mux else None
        for h in wiring.haptic:
            enable = DigitalOutputDevice(
                h.enable_pin, initial_value=False, active_high=True, pin_factory=pin_factory
            )
            hw._closers.append(enable)
            channel_bus = mux.channel(h.channel) if mux and h.channel is not None else bus
            hw.haptics[h.name] = HapticDriver(
                config=h, bus=channel_bus, enable=enable, calibration_store=store
            )
        for b in wiring.brush:
            if simulate:
                channel = pwm[b.name]
            else:
                from hardware.pwm import open_pwm_for_pin

                channel = open_pwm_for_pin(b.pwm_pin, frequency_hz=b.frequency_hz)
                hw._closers.append(channel)
            hw.brushes[b.name] = BrushArm(
                config=b, pwm=channel, detach_delay_s=BRUSH_DETACH_DELAY_S
            )
        hw.panel = GpioPanel(config=wiring.panel, pin_factory=pin_factory)
    except BaseException:
        hw.close()
        raise
    hw.all_off()
    return hw


def real_pin_factory() -> Any:
    """lgpio first: the only backend that works on a Pi 5 (RPi.GPIO fails there with
    "Cannot determine SOC peripheral base address"); RPi.GPIO on a Pi 4 and earlier."""
    from station.platform import is_pi5, pi_model

    try:
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    except ImportError:
        if is_pi5(pi_model()):
            raise HardwareError(
                "gpio",
                "a Raspberry Pi 5 needs lgpio, which is not installed; reinstall the station "
                "with the 'pi' extra (pip install 'station[pi]', lgpio>=0.2.2.0)",
            ) from None
    try:
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    except ImportError:
        raise HardwareError(
            "gpio",
            "neither lgpio nor RPi.GPIO is installed; install the station with the 'pi' extra",
        ) from None


def real_i2c_bus(number: int) -> Any:
    """/dev/i2c-N through Adafruit's ExtendedI2C (Blinka), with a clear error when I2C is
    off."""
    if not Path(f"/dev/i2c-{number}").exists():
        raise HardwareError(
            f"i2c-{number}",
            f"/dev/i2c-{number} does not exist: enable I2C (dtparam=i2c_arm=on in "
            "config.txt, or raspi-config nonint do_i2c 0) and reboot",
        )
    try:
        from adafruit_extended_bus import ExtendedI2C
    except ImportError:
        raise HardwareError(
            f"i2c-{number}", "adafruit-extended-bus is missing; install the 'pi' extra"
        ) from None
    return ExtendedI2C(number)


def forced_off(wiring: WiringConfig, *, simulate: bool, data_dir: Path) -> list[str]:
    """Open the hardware and force every output off; used by ``station safe-off`` (the
    engine unit's ExecStopPost) after a crash. Returns problems met (never raises)."""
    problems: list[str] = []
    try:
        hw = open_hardware(wiring, simulate=simulate, data_dir=data_dir)
    except Exception as exc:  # a last resort: report and carry on
        problems.append(str(exc))
        return problems
    hw.close()
    return problems
