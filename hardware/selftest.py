"""Probe every configured device, exercise each actuator briefly, and say what failed.

One result per device, each with a reason a maker can act on. Every output is off when
the self-test ends, whether it passed or not.

The brush is swept park -> 0 -> end of travel -> park in small steps at the wiring's
``approach_speed_cm_s``, one step per servo frame, like the engine's lead-in/out: a
self-test must not slam the arm onto the skin (or into whatever is under it) in one
write. On the default wiring that is about 31 cm at 10 cm/s, ~3 s. A failure mid-sweep
still parks in one write (``off``), like every stop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from hardware.backend import HardwareSet
from hardware.brush import BrushArm
from hardware.interfaces import Haptic
from station.errors import HardwareError, StationError

PULSE_CODE = 30  # signed RTP: 30/127 = 24 % of full scale: felt, never strong
PULSE_S = 0.15
ONE_STEP = 1 / 127
# A plausible LRA resonance (the datasheet's LRA figures span ~125-300 Hz; coin LRAs sit
# at 150-240 Hz): outside this the period read back is not an LRA resonating.
LRA_HZ_RANGE = (60.0, 400.0)


def pulse_and_read_back(
    haptic: Haptic,
    actuator: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    while_driving: Callable[[], None] | None = None,
) -> str:
    """Pulse a started driver and check, from its registers decoded by the datasheet's
    transfer, that it drives forward at the commanded level when told to and nothing
    again after; an LRA must also report a resonance period (LRA_PERIOD) while it drives.
    (That it drives nothing at rest, ``start`` has already checked.) Raises StationError
    naming what was wrong."""
    code = min(PULSE_CODE, haptic.max_code)
    haptic.set_rtp(code)
    sleep(PULSE_S)
    fault = haptic.check_faults()
    if fault:
        raise StationError(
            f"the chip reports {fault}; check the actuator and its wiring, and let it cool"
        )
    drive, settings = haptic.drive()
    wanted = code / 127
    if drive <= 0.0 or abs(drive - wanted) > ONE_STEP:
        raise StationError(
            f"told to drive {wanted:.0%} of full scale, its registers say {drive:+.0%} "
            f"({settings.describe()}); the chip did not take the amplitude"
        )
    if while_driving is not None:
        while_driving()
    detail = f"{drive:.0%} of {settings.reference}"
    if actuator == "lra":
        period_us = haptic.lra_period_us()
        hz = 1e6 / period_us if period_us > 0 else 0.0
        if not LRA_HZ_RANGE[0] <= hz <= LRA_HZ_RANGE[1]:
            raise StationError(
                f"the LRA does not resonate while driven (LRA_PERIOD gives "
                f"{period_us:.0f} us); check that the actuator is connected, is an LRA "
                "(not an ERM: set actuator = \"erm\"), and is mounted"
            )
        detail += f", resonating at {hz:.0f} Hz"
    haptic.set_rtp(0)
    drive, settings = haptic.drive()
    if drive != 0.0:
        raise StationError(f"after RTP 0 the chip still drives {drive:+.0%} of full scale")
    return detail


def sweep_brush(
    brush: BrushArm, to_cm: float, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Move ``brush`` from its commanded position to ``to_cm`` on its path (park angle
    through the travel) at its ``approach_speed_cm_s``: one ``set_path_cm`` per servo
    frame (1 / frequency_hz), each preceded by a frame's sleep, so no write is further
    from the previous one than the speed allows in the time slept. Returns the steps."""
    cfg = brush.config
    frame_s = 1.0 / cfg.frequency_hz
    here = brush.position_cm
    steps = max(1, math.ceil(abs(to_cm - here) / (cfg.approach_speed_cm_s * frame_s)))
    for k in range(1, steps + 1):
        sleep(frame_s)
        brush.set_path_cm(here + (to_cm - here) * k / steps)
    return steps


@dataclass(frozen=True)
class Result:
    device: str
    ok: bool
    reason: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.device}: {self.reason}"


def _check(device: str, action: Callable[[], str]) -> Result:
    try:
        return Result(device, True, action())
    except HardwareError as exc:
        message = str(exc)
        prefix = f"{exc.device}: "
        return Result(device, False, message[len(prefix) :] if exc.device == device else message)
    except (StationError, OSError, ValueError, RuntimeError) as exc:
        return Result(device, False, str(exc))


def run_selftest(hw: HardwareSet, *, sleep: Callable[[float], None] = time.sleep) -> list[Result]:
    """Exercise each device in turn; ``hw`` is left with every output off."""
    results: list[Result] = []

    def simulated_drive(name: str) -> Callable[[], None] | None:
        """On the simulator, also ask the physical model (not the registers read back)."""
        if hw.sim is None:
            return None

        def confirm() -> None:
            if not hw.sim.outputs()[name]["active"]:
                raise StationError("the chip accepted the pulse but did not drive")

        return confirm

    try:
        for name, haptic in hw.haptics.items():

            def exercise_haptic(name=name, haptic=haptic) -> str:
                cfg = hw.wiring.haptic_by_name(name)
                haptic.start()
                try:
                    detail = pulse_and_read_back(
                        haptic, cfg.actuator, sleep=sleep, while_driving=simulated_drive(name)
                    )
                finally:
                    haptic.off()
                if haptic.answers_with_en_low():
                    raise StationError(
                        f"the chip still answers on the bus with EN (GPIO{cfg.enable_pin}) low: "
                        "EN does not reach it, so a crash or a stop that only drops EN would "
                        "leave it powered; use a driver board that brings EN out (or do the "
                        "rework in hardware/README.md) and wire it to that GPIO"
                    )
                where = f"mux channel {cfg.channel}" if cfg.channel is not None else "I2C bus"
                return (
                    f"DRV2605 answered on {where}, pulsed {cfg.actuator.upper()} ({detail}), "
                    "stopped, and went quiet with EN low"
                )

            results.append(_check(name, exercise_haptic))
        for name, brush in hw.brushes.items():

            def exercise_brush(brush=brush) -> str:
                brush.start()
                try:
                    for to_cm in (0.0, brush.travel_cm, brush.config.park_cm):
                        sweep_brush(brush, to_cm, sleep=sleep)
                    brush.park()  # exactly the park pulse (the sweep ends a float away)
                finally:
                    brush.off()
                return (
                    f"swept the calibrated travel ({brush.travel_cm:.1f} cm) at "
                    f"{brush.config.approach_speed_cm_s:g} cm/s and parked"
                )

            results.append(_check(name, exercise_brush))

        def check_panel() -> str:
            if hw.panel.estop_active:
                raise StationError(
                    "the e-stop is active: twist it out, and if it is, check "
                    "its normally-closed wiring (an open wire reads as pressed)"
                )
            return "buttons and LEDs open; e-stop closed (not pressed)"

        results.append(_check("panel", check_panel))
    finally:
        hw.all_off()
    return results
