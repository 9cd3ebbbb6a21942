"""Shared set-up for the haptics tests: a simulated bus + mux + DRV2605 models, gpiozero
on mock pins whose EN output drives each model, and HapticDrivers on top.

A test module wraps ``mock_pins()`` and ``make_rig()`` in its own fixtures. The EN
wiring shows how a backend connects a mock pin to ``DRV2605Model.set_enabled``: a
MockPin subclass that reports output changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gpiozero import Device, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockPin

from hardware.calibration import CalibrationStore
from hardware.haptics import HapticDriver
from hardware.mux import MuxState
from hardware.sim import ManualClock
from hardware.sim.drv2605 import DRV2605Model
from hardware.sim.i2c import SimI2CBus
from hardware.sim.tca9548a import TCA9548AModel
from hardware.trace import Trace
from station.wiring import HapticConfig


class HookedPin(MockPin):
    """A MockPin that calls ``on_change(state)`` whenever its output level changes."""

    def __init__(self, factory, info):
        self.on_change = None
        super().__init__(factory, info)

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed and self.on_change is not None:
            self.on_change(bool(value))
        return changed


@contextmanager
def mock_pins() -> Iterator[list]:
    """gpiozero on mock pins; closes every device made through it and resets."""
    old = Device.pin_factory
    factory = MockFactory(pin_class=HookedPin)
    Device.pin_factory = factory
    made: list[DigitalOutputDevice] = []
    try:
        yield made
    finally:
        for device in made:
            device.close()
        factory.reset()
        Device.pin_factory = old


def config(name: str = "forearm", channel: int | None = 0, pin: int = 17, **kw) -> HapticConfig:
    return HapticConfig(name=name, channel=channel, enable_pin=pin, **kw)


@dataclass
class Rig:
    clock: ManualClock
    trace: Trace
    bus: SimI2CBus
    mux: TCA9548AModel | None
    state: MuxState | None
    store: CalibrationStore
    pins: list
    models: dict[str, DRV2605Model] = field(default_factory=dict)
    ens: dict[str, DigitalOutputDevice] = field(default_factory=dict)
    drivers: dict[str, HapticDriver] = field(default_factory=dict)

    def add(self, cfg: HapticConfig, **model_kw) -> HapticDriver:
        """A model on ``cfg.channel`` (or directly on the bus), its EN pin, a driver."""
        model = DRV2605Model(clock=self.clock, **model_kw)
        if cfg.channel is None:
            self.bus.attach(0x5A, model, name=cfg.name)
            bus = self.bus
        else:
            assert self.mux is not None and self.state is not None
            self.mux.attach(cfg.channel, 0x5A, model, name=cfg.name)
            bus = self.state.channel(cfg.channel)
        en = DigitalOutputDevice(cfg.enable_pin, initial_value=False, active_high=True)
        self.pins.append(en)
        en.pin.on_change = model.set_enabled
        driver = HapticDriver(
            config=cfg, bus=bus, enable=en, calibration_store=self.store, sleep=self.clock.sleep
        )
        self.models[cfg.name] = model
        self.ens[cfg.name] = en
        self.drivers[cfg.name] = driver
        return driver


def make_rig(tmp_path: Path, made_pins: list, *, with_mux: bool = True) -> Rig:
    clock = ManualClock()
    trace = Trace(clock=clock)
    bus = SimI2CBus(trace=trace)
    mux = state = None
    if with_mux:
        mux = TCA9548AModel()
        bus.attach(0x70, mux, name="mux")
        state = MuxState(bus=bus, address=0x70)
    store = CalibrationStore(tmp_path / "haptic_calibration.json")
    return Rig(clock, trace, bus, mux, state, store, made_pins)
