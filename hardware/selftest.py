"""Probe every configured device, exercise each actuator briefly, and say what failed.

One result per device, each with a reason a maker can act on. Every output is off when
the self-test ends, whether it passed or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hardware.backend import HardwareSet
from station.errors import HardwareError, StationError

PULSE_CODE = 60  # ~24 % of full scale: felt, never strong
PULSE_S = 0.15


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
    try:
        for name, haptic in hw.haptics.items():

            def exercise_haptic(name=name, haptic=haptic) -> str:
                haptic.start()
                try:
                    haptic.set_rtp(min(PULSE_CODE, haptic.max_code))
                    sleep(PULSE_S)
                    fault = haptic.check_faults()
                    if fault:
                        raise StationError(
                            f"the chip reports {fault}; check the actuator "
                            "and its wiring, and let it cool"
                        )
                    if hw.sim is not None and not hw.sim.outputs()[name]["active"]:
                        raise StationError("the chip accepted the pulse but did not drive")
                finally:
                    haptic.off()
                cfg = hw.wiring.haptic_by_name(name)
                where = f"mux channel {cfg.channel}" if cfg.channel is not None else "I2C bus"
                return f"DRV2605 answered on {where}, pulsed {cfg.actuator.upper()} and stopped"

            results.append(_check(name, exercise_haptic))
        for name, brush in hw.brushes.items():

            def exercise_brush(brush=brush) -> str:
                brush.start()
                try:
                    brush.set_position_cm(0.0)
                    brush.set_position_cm(brush.travel_cm)
                    brush.park()
                finally:
                    brush.off()
                return f"swept the calibrated travel ({brush.travel_cm:.1f} cm) and parked"

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
