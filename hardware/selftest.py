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
from station.errors import HardwareError, StationError

PULSE_CODE = 60  # ~24 % of full scale: felt, never strong
PULSE_S = 0.15


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
