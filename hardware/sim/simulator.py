"""The simulated station: chip models, mock pins and PWM wired as the wiring file says.

The real driver code (adafruit_drv2605 through our mux channels, gpiozero devices,
BrushArm) runs on top of what this builds; this class only owns the *physical* side:
register models on a simulated I2C bus, gpiozero mock pins with the board's resistors,
and simulated PWM channels. Each EN pin is wired to its chip model, so dropping EN
really shuts the modelled chip down. ``outputs()`` reports what each actuator is doing
from register and pin state alone, never from what the engine believes it wrote.
"""

from __future__ import annotations

import math
from typing import Any

from hardware.sim.drv2605 import DEVICE_ID_DRV2605L, FAULTS, DRV2605Model
from hardware.sim.i2c import BusTiming, SimI2CBus
from hardware.sim.patient import SimPatient
from hardware.sim.pins import TracedMockFactory, make_pin_factory
from hardware.sim.pwm import SimPWMChannel
from hardware.sim.tca9548a import TCA9548AModel
from hardware.trace import Trace
from station.wiring import BrushConfig, WiringConfig

DRV2605_ADDRESS = 0x5A
BUTTONS = ("start", "stop", "estop", "up", "down")


class Simulator:
    """Everything physical about a simulated station, built from a ``WiringConfig``."""

    def __init__(
        self,
        *,
        wiring: WiringConfig,
        trace: Trace | None = None,
        device_ids: dict[str, int] | None = None,
    ) -> None:
        self.wiring = wiring
        self.trace = trace if trace is not None else Trace()
        # Bus time at the wiring's clock (see hardware.sim.i2c: counted always, spent on the
        # real clock when STATION_SIM_BUS_TIME=spend, as ``station engine --sim`` sets).
        self.bus = SimI2CBus(
            trace=self.trace, timing=BusTiming(frequency_hz=wiring.i2c.frequency_hz)
        )
        self.pins: TracedMockFactory = make_pin_factory(
            trace=self.trace,
            en_pins=[h.enable_pin for h in wiring.haptic],
            estop_pin=wiring.panel.estop_pin,
        )
        self.mux: TCA9548AModel | None = None
        if wiring.mux is not None:
            self.mux = TCA9548AModel(address=wiring.mux.address)
            self.bus.attach(wiring.mux.address, self.mux, name="mux")
        self.chips: dict[str, DRV2605Model] = {}
        ids = device_ids or {}
        for h in wiring.haptic:
            chip = DRV2605Model(
                device_id=ids.get(h.name, DEVICE_ID_DRV2605L),
                resonance_hz=h.resonance_hz or 175.0,
            )
            if self.mux is not None and h.channel is not None:
                self.mux.attach(h.channel, DRV2605_ADDRESS, chip, name=h.name)
            else:
                self.bus.attach(DRV2605_ADDRESS, chip, name=h.name)
            self.pins.listeners[h.enable_pin] = chip.set_enabled
            self.chips[h.name] = chip
        self.pwm: dict[str, SimPWMChannel] = {
            b.name: SimPWMChannel(name=b.name, trace=self.trace, frequency_hz=b.frequency_hz)
            for b in wiring.brush
        }
        self._button_pins = self._buttons()
        self.patient = SimPatient(chips=self.chips)  # feels what the chips drive

    def _buttons(self) -> dict[str, int]:
        panel = self.wiring.panel
        pins = {"start": panel.start_pin, "stop": panel.stop_pin}
        if panel.estop_pin is not None:
            pins["estop"] = panel.estop_pin
        rating = panel.rating
        if rating is not None and rating.kind == "buttons":
            pins["up"], pins["down"] = rating.up_pin, rating.down_pin
        return pins

    # --- the panel, pressed by a finger -------------------------------------------------
    def button_pin(self, button: str) -> int:
        if button not in self._button_pins:
            allowed = ", ".join(sorted(self._button_pins))
            raise ValueError(f"button {button!r} is not on this panel; allowed: {allowed}")
        return self._button_pins[button]

    def press(self, button: str) -> None:
        """Press a button. The e-stop is normally closed: pressing it opens the contact."""
        pin = self.button_pin(button)
        if button == "estop":
            self.pins.release(pin)
        else:
            self.pins.press(pin)

    def release(self, button: str) -> None:
        """Release a button; for the e-stop this is twisting it back out (contact closed)."""
        pin = self.button_pin(button)
        if button == "estop":
            self.pins.press(pin)
        else:
            self.pins.release(pin)

    # --- faults -----------------------------------------------------------------------
    def inject_fault(self, device: str, fault: str) -> None:
        """``fault`` on a haptic driver by actuator name, or on the ``mux``."""
        if fault not in FAULTS:
            raise ValueError(f"fault {fault!r} is unknown; allowed: {', '.join(FAULTS)}")
        if device == "mux" and self.mux is not None:
            self.mux.inject_fault(fault)
            return
        if device not in self.chips:
            allowed = ", ".join([*self.chips, *(["mux"] if self.mux else [])])
            raise ValueError(f"device {device!r} has no simulated chip; allowed: {allowed}")
        self.chips[device].inject_fault(fault)

    def clear_faults(self) -> None:
        for chip in self.chips.values():
            chip.clear_faults()
        if self.mux is not None:
            self.mux.clear_faults()

    def bus_transactions(self) -> int:
        return self.bus.transactions

    # --- what the skin feels ------------------------------------------------------------
    def outputs(self) -> dict[str, dict[str, Any]]:
        """``{"<actuator>": {"active": bool, "level": 0..1, ...}}`` from physical state.

        For a haptic driver ``level`` is the magnitude of its drive and ``drive`` the
        signed value (negative = reverse drive: an ERM counter-rotating, an LRA driven in
        antiphase), both fractions of the loop mode's full scale (``reference``)."""
        out: dict[str, dict[str, Any]] = {}
        for h in self.wiring.haptic:
            chip = self.chips[h.name]
            active, drive = chip.output()
            out[h.name] = {
                "active": bool(active),
                "level": round(abs(float(drive)), 4),
                "drive": round(float(drive), 4),
                "reverse": drive < 0,
                "reference": chip.loop_settings().reference,
            }
        for b in self.wiring.brush:
            out[b.name] = brush_output(b, self.pwm[b.name].state())
        return out


def brush_output(cfg: BrushConfig, state: dict[str, Any]) -> dict[str, Any]:
    """Where a servo brush is from its PWM pulses alone; it touches the skin only while
    pulsed to an angle inside the calibrated travel."""
    if not state["enabled"] or state["pulse_us"] <= 0:
        return {"active": False, "level": 0.0, "angle_deg": None, "position_cm": None}
    span = cfg.pulse_max_us - cfg.pulse_min_us
    angle = (state["pulse_us"] - cfg.pulse_min_us) / span * cfg.servo_range_deg
    on_skin = cfg.min_angle_deg - 1e-6 <= angle <= cfg.max_angle_deg + 1e-6
    position = math.radians(angle - cfg.min_angle_deg) * cfg.radius_cm
    return {
        "active": on_skin,
        "level": 1.0 if on_skin else 0.0,
        "angle_deg": round(angle, 3),
        "position_cm": round(position, 4),
    }
