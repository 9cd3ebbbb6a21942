"""The small interfaces the engine drives. Real and simulated backends both satisfy them.

The engine sees only these: it never imports a driver library. Every method that can be
called from a stop path (``off``) must never raise and must leave the device safe even
when the bus is failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from hardware.drv2605_transfer import LoopSettings


@runtime_checkable
class Haptic(Protocol):
    """One DRV2605/DRV2605L with its EN pin."""

    name: str
    max_code: int  # highest RTP code the device limit allows (signed RTP, 0..127)

    def start(self) -> None:
        """EN high, (re)initialise, restore calibration, RTP mode at amplitude 0."""

    def set_rtp(self, code: int) -> None:
        """Write a signed RTP amplitude (0..127, 0 = no drive), clamped to 0..``max_code``."""

    def play_effect(self, effect_id: int) -> None:
        """Play one library effect (1..123) now; the chip clears GO when it is done."""

    def check_faults(self) -> str | None:
        """Read STATUS; return a description of OVER_TEMP / OC_DETECT, or None."""

    def drive(self) -> tuple[float, LoopSettings]:
        """What the chip drives now, read back from its registers and decoded by the
        datasheet's transfer: signed fraction of full scale, and the loop settings."""

    def lra_period_us(self) -> float:
        """The LRA's measured resonance period (valid while it drives; 0 if it does not)."""

    def answers_with_en_low(self) -> bool:
        """Drop EN and probe: True when the chip still answers (EN does not reach it)."""

    def silence(self) -> None:
        """EN low at once (one GPIO write). Never raises."""

    def off(self) -> None:
        """RTP 0, MODE standby, EN low (for boards whose EN is tied high, the register
        writes are what silences them). Never raises."""

    def close(self) -> None: ...


@runtime_checkable
class Brush(Protocol):
    """A servo-driven brush arm that speaks in skin units (cm along the skin)."""

    name: str
    travel_cm: float  # calibrated travel along the skin

    def start(self) -> None:
        """Attach (PWM on) at the park position."""

    def set_position_cm(self, position_cm: float) -> None:
        """Move to ``position_cm`` from the start of the calibrated travel; ValueError
        outside ``0..travel_cm``."""

    def set_path_cm(self, position_cm: float) -> None:
        """Move along the whole path, park angle through the travel (for the timed approach
        and retreat); ValueError beyond it."""

    def park(self) -> None:
        """Lift the brush clear of the skin (park angle)."""

    def off(self) -> None:
        """Park, then detach (no pulses). Never raises."""

    def close(self) -> None: ...


@runtime_checkable
class Panel(Protocol):
    """Buttons, e-stop, LEDs and on-device rating through gpiozero.

    Callbacks may arrive on a background thread (lgpio) or synchronously (mock pins): the
    engine only sets flags in them and acts on the next tick.
    """

    on_start_pressed: Callable[[], None] | None
    on_start_released: Callable[[float], None] | None  # held seconds
    on_stop_pressed: Callable[[], None] | None
    on_estop: Callable[[bool], None] | None  # True when the e-stop is active
    on_rating: Callable[[int], None] | None  # +1 / -1 steps, 0 = confirm

    @property
    def estop_active(self) -> bool: ...

    def set_leds(self, pattern: str) -> None:
        """Show a named status pattern (idle, armed, running, ...)."""

    def off(self) -> None: ...

    def close(self) -> None: ...
