"""The wiring config: what is connected to this Pi, and the device limits (layer 1 of 3).

One TOML file says which haptic drivers sit on which multiplexer channel with which EN
pin, where the brush servo is, which pins the panel uses, and the hard limits of each
device. It is validated at start-up; every mistake is reported at once with the key, the
value and the fix, before any pin is touched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from station.errors import ConfigError, Problem, load_toml_file, problems_from_validation

# BCM numbers on the 40-pin header. 0/1 carry the HAT ID EEPROM and 2/3 are the I2C bus
# the haptic drivers use, so none of them may be used for anything else.
HEADER_PINS = frozenset(range(0, 28))
RESERVED_PINS = {0: "HAT ID EEPROM (ID_SD)", 1: "HAT ID EEPROM (ID_SC)", 2: "I2C SDA", 3: "I2C SCL"}
# Hardware PWM: GPIO12/18 -> channel 0 and GPIO13/19 -> channel 1 on a Pi 4 (pwm-2chan);
# a Pi 5 has four channels (12, 13, 18, 19 -> 0..3). A servo needs hardware PWM: software
# PWM rounds to whole percent and gives a 50 Hz servo six positions.
HARDWARE_PWM_PINS = {12: 0, 13: 1, 18: 0, 19: 1}
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
SITE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")  # the protocols' body-site slugs
DEFAULT_WIRING = "default_wiring.toml"

Pin = Annotated[int, Field(ge=0, le=27, description="BCM GPIO number on the 40-pin header")]
Name = Annotated[
    str,
    Field(
        pattern=NAME_RE.pattern,
        description="lower-case name used by protocols, e.g. 'forearm' (a-z, 0-9, _ or -)",
    ),
]

Site = Annotated[
    str | None,
    Field(
        pattern=SITE_RE.pattern,
        description="body site the actuator is placed on, in the protocols' words (e.g. "
        "'forearm-border'); a patient's plan can override it (plan settings 'sites')",
    ),
]


class _StrictConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I2CConfig(_StrictConfig):
    bus: int = Field(1, ge=0, le=22, description="Linux I2C bus number (/dev/i2c-N)")
    frequency_hz: int = Field(
        400_000,
        ge=10_000,
        le=400_000,
        description="bus clock; set dtparam=i2c_arm_baudrate to the same value",
    )


class MuxConfig(_StrictConfig):
    address: int = Field(0x70, ge=0x70, le=0x77, description="TCA9548A address, 0x70..0x77")


class HapticCalibration(_StrictConfig):
    """Auto-calibration results (registers 0x18, 0x19, 0x1A[1:0]) written back at boot."""

    compensation: int = Field(ge=0, le=255)
    back_emf: int = Field(ge=0, le=255)
    back_emf_gain: int = Field(ge=0, le=3)


class HapticConfig(_StrictConfig):
    name: Name
    site: Site = None
    channel: int | None = Field(
        None, ge=0, le=7, description="TCA9548A channel; omit when the driver is on the bus"
    )
    enable_pin: Pin = Field(description="GPIO wired to the driver's EN (pull-down: low = off)")
    actuator: Literal["lra", "erm"] = "lra"
    rated_voltage: int = Field(
        0x3E, ge=1, le=255, description="RATED_VOLTAGE register (0x16); recalibrate on change"
    )
    overdrive_clamp: int = Field(0x8C, ge=1, le=255, description="OD_CLAMP register (0x17)")
    resonance_hz: float | None = Field(
        None, gt=0, le=500, description="LRA resonance (closed loop runs here; not settable)"
    )
    max_amplitude: float = Field(
        1.0, gt=0, le=1.0, description="device limit: highest RTP amplitude, fraction of full scale"
    )
    calibration: HapticCalibration | None = None


class BrushConfig(_StrictConfig):
    """A hobby servo swinging a soft brush over the skin on an arm of ``radius_cm``."""

    name: Name
    site: Site = None
    pwm_pin: Pin
    frequency_hz: float = Field(50, ge=40, le=330)
    pulse_min_us: float = Field(500, ge=100, le=3000, description="pulse at servo angle 0")
    pulse_max_us: float = Field(2500, ge=100, le=3000, description="pulse at servo_range_deg")
    servo_range_deg: float = Field(180, gt=0, le=360)
    radius_cm: float = Field(gt=0, le=50, description="pivot to brush contact, measured")
    min_angle_deg: float = Field(ge=0, le=360, description="calibrated travel: lowest angle")
    max_angle_deg: float = Field(ge=0, le=360, description="calibrated travel: highest angle")
    park_angle_deg: float = Field(ge=0, le=360, description="rest position, brush off the skin")
    min_speed_cm_s: float = Field(0.3, gt=0, le=100)
    max_speed_cm_s: float = Field(30, gt=0, le=100, description="device limit for brushing speed")
    max_accel_cm_s2: float = Field(
        60, gt=0, le=1000, description="bounded start and end of strokes"
    )
    approach_speed_cm_s: float = Field(
        10,
        gt=0,
        le=100,
        description="top speed of the timed move from park to the first stroke and back "
        "(at max_accel_cm_s2 or the stroke's gentler acceleration); at most max_speed_cm_s",
    )

    @model_validator(mode="after")
    def _travel(self) -> BrushConfig:
        if self.min_angle_deg >= self.max_angle_deg:
            raise ValueError(
                f"min_angle_deg ({self.min_angle_deg}) must be below max_angle_deg "
                f"({self.max_angle_deg}); measure the brush's travel again"
            )
        if self.max_angle_deg > self.servo_range_deg:
            raise ValueError(
                f"max_angle_deg ({self.max_angle_deg}) is beyond the servo's range "
                f"({self.servo_range_deg} degrees)"
            )
        if self.pulse_min_us >= self.pulse_max_us:
            raise ValueError("pulse_min_us must be below pulse_max_us")
        if self.min_speed_cm_s >= self.max_speed_cm_s:
            raise ValueError("min_speed_cm_s must be below max_speed_cm_s")
        if self.approach_speed_cm_s > self.max_speed_cm_s:
            raise ValueError(
                f"approach_speed_cm_s ({self.approach_speed_cm_s}) is above max_speed_cm_s "
                f"({self.max_speed_cm_s}); the move from park must keep to the device limit"
            )
        return self

    @property
    def travel_cm(self) -> float:
        """Arc length of the calibrated travel along the skin."""
        return math.radians(self.max_angle_deg - self.min_angle_deg) * self.radius_cm

    @property
    def park_cm(self) -> float:
        """The park angle in the travel's skin coordinates: below 0 (or beyond travel_cm)
        when the brush parks off the skin, so the approach from park is a distance."""
        return math.radians(self.park_angle_deg - self.min_angle_deg) * self.radius_cm


class EncoderRating(_StrictConfig):
    kind: Literal["encoder"]
    a_pin: Pin
    b_pin: Pin
    button_pin: Pin | None = Field(None, description="push to confirm the rating")


class ButtonsRating(_StrictConfig):
    kind: Literal["buttons"]
    up_pin: Pin
    down_pin: Pin


class PanelConfig(_StrictConfig):
    start_pin: Pin = Field(description="start / pause button, to ground (internal pull-up)")
    stop_pin: Pin = Field(description="stop button, to ground (internal pull-up)")
    estop_pin: Pin | None = Field(
        None, description="e-stop contact, normally closed to ground: open (or cut) = stop"
    )
    led_pins: dict[Name, Pin] = Field(
        default_factory=dict, description="status LEDs by colour, e.g. {green = 22, red = 27}"
    )
    rating: EncoderRating | ButtonsRating | None = Field(None, discriminator="kind")


class EngineConfig(_StrictConfig):
    rate_hz: int = Field(1000, ge=50, le=5000, description="control loop rate")
    watchdog_ms: int = Field(50, ge=5, le=2000, description="stall bound before outputs go off")
    cpu: int | None = Field(None, ge=0, le=63, description="CPU to pin the engine to")
    realtime_priority: int = Field(50, ge=1, le=99, description="SCHED_FIFO priority")


class WiringConfig(_StrictConfig):
    i2c: I2CConfig = I2CConfig()
    mux: MuxConfig | None = None
    haptic: list[HapticConfig] = Field(default_factory=list)
    brush: list[BrushConfig] = Field(default_factory=list)
    panel: PanelConfig
    engine: EngineConfig = EngineConfig()

    def actuator_names(self) -> set[str]:
        return {h.name for h in self.haptic} | {b.name for b in self.brush}

    def sites(self) -> dict[str, str | None]:
        """Where each actuator sits on the body, as wired (None: not stated)."""
        out: dict[str, str | None] = {h.name: h.site for h in self.haptic}
        return out | {b.name: b.site for b in self.brush}

    def haptic_by_name(self, name: str) -> HapticConfig:
        return next(h for h in self.haptic if h.name == name)

    def brush_by_name(self, name: str) -> BrushConfig:
        return next(b for b in self.brush if b.name == name)


def _pin_uses(cfg: WiringConfig) -> list[tuple[str, int]]:
    uses: list[tuple[str, int]] = []
    for i, h in enumerate(cfg.haptic):
        uses.append((f"haptic[{i}].enable_pin", h.enable_pin))
    for i, b in enumerate(cfg.brush):
        uses.append((f"brush[{i}].pwm_pin", b.pwm_pin))
    p = cfg.panel
    uses += [("panel.start_pin", p.start_pin), ("panel.stop_pin", p.stop_pin)]
    if p.estop_pin is not None:
        uses.append(("panel.estop_pin", p.estop_pin))
    uses += [(f"panel.led_pins.{k}", v) for k, v in p.led_pins.items()]
    if isinstance(p.rating, EncoderRating):
        uses += [("panel.rating.a_pin", p.rating.a_pin), ("panel.rating.b_pin", p.rating.b_pin)]
        if p.rating.button_pin is not None:
            uses.append(("panel.rating.button_pin", p.rating.button_pin))
    elif isinstance(p.rating, ButtonsRating):
        uses += [
            ("panel.rating.up_pin", p.rating.up_pin),
            ("panel.rating.down_pin", p.rating.down_pin),
        ]
    return uses


def cross_check(cfg: WiringConfig) -> list[Problem]:
    """Checks that span several keys: pin conflicts, channels, PWM pins, names."""
    problems: list[Problem] = []
    seen: dict[int, str] = {}
    for key, pin in _pin_uses(cfg):
        if pin in RESERVED_PINS:
            problems.append(
                Problem(
                    key, f"GPIO{pin} is the {RESERVED_PINS[pin]}; choose another pin", pin, True
                )
            )
        elif pin in seen:
            problems.append(
                Problem(
                    key,
                    f"GPIO{pin} is already used by {seen[pin]}; give each its own pin",
                    pin,
                    True,
                )
            )
        else:
            seen[pin] = key
    names: dict[str, str] = {}
    groups: tuple[tuple[str, Sequence[HapticConfig | BrushConfig]], ...] = (
        ("haptic", cfg.haptic),
        ("brush", cfg.brush),
    )
    for kind, items in groups:
        for i, item in enumerate(items):
            key = f"{kind}[{i}].name"
            if item.name in names:
                problems.append(
                    Problem(
                        key,
                        f"name already used by {names[item.name]}; names must be unique",
                        item.name,
                        True,
                    )
                )
            names.setdefault(item.name, key)
    channels: dict[int, str] = {}
    for i, h in enumerate(cfg.haptic):
        key = f"haptic[{i}].channel"
        if cfg.mux is None:
            if h.channel is not None:
                problems.append(
                    Problem(
                        key,
                        "a channel needs a [mux] section (TCA9548A); add [mux] or "
                        "remove the channel",
                        h.channel,
                        True,
                    )
                )
        elif h.channel is None:
            problems.append(
                Problem(
                    key, "required with a [mux]: the TCA9548A channel (0-7) this driver is wired to"
                )
            )
        elif h.channel in channels:
            problems.append(
                Problem(
                    key,
                    f"channel {h.channel} already has {channels[h.channel]}; every "
                    "DRV2605 answers at 0x5A, so each needs its own channel",
                    h.channel,
                    True,
                )
            )
        else:
            channels[h.channel] = f"haptic[{i}] '{h.name}'"
    if cfg.mux is None and len(cfg.haptic) > 1:
        problems.append(
            Problem(
                "haptic",
                f"{len(cfg.haptic)} drivers but no [mux]: every DRV2605 has the "
                "fixed address 0x5A, so more than one needs a TCA9548A multiplexer",
            )
        )
    pwm_channels: dict[int, str] = {}
    for i, b in enumerate(cfg.brush):
        key = f"brush[{i}].pwm_pin"
        if b.pwm_pin not in HARDWARE_PWM_PINS:
            problems.append(
                Problem(
                    key,
                    "this pin has no hardware PWM; a servo needs one of GPIO12, 13, 18 "
                    "or 19 (software PWM gives a servo six positions)",
                    b.pwm_pin,
                    True,
                )
            )
            continue
        ch = HARDWARE_PWM_PINS[b.pwm_pin]
        if ch in pwm_channels:
            problems.append(
                Problem(
                    key,
                    f"GPIO{b.pwm_pin} shares PWM channel {ch} with {pwm_channels[ch]} "
                    "on a Pi 4; use the other channel (12/18 vs 13/19)",
                    b.pwm_pin,
                    True,
                )
            )
        pwm_channels[ch] = f"GPIO{b.pwm_pin}"
        if not b.min_angle_deg <= b.park_angle_deg <= b.max_angle_deg and not (
            0 <= b.park_angle_deg <= b.servo_range_deg
        ):
            problems.append(
                Problem(
                    f"brush[{i}].park_angle_deg",
                    "outside the servo's range",
                    b.park_angle_deg,
                    True,
                )
            )
    return problems


def parse_wiring(data: dict[str, Any], source: str) -> WiringConfig:
    """Validate a wiring dict; raise ``ConfigError`` with every problem."""
    try:
        cfg = WiringConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, data)) from None
    problems = cross_check(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def load_wiring(path: Path | None = None) -> WiringConfig:
    """Load and validate the wiring file; ``None`` loads the shipped simulator default."""
    if path is None:
        ref = resources.files("station").joinpath(DEFAULT_WIRING)
        with resources.as_file(ref) as default_path:
            return parse_wiring(load_toml_file(default_path), f"(built-in) {DEFAULT_WIRING}")
    return parse_wiring(load_toml_file(Path(path)), str(path))
