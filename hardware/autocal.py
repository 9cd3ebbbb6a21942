"""The DRV2605's auto-calibration, at register level (TI SLOA189; the Adafruit driver has
no API for it): functions on the driver's device handle (an ``adafruit_drv2605.DRV2605``).

``hardware.haptics.HapticDriver.calibrate`` calls ``run`` and owns what surrounds it
(starting the chip, switching everything off on any failure, storing the result).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import adafruit_drv2605

from hardware.drv2605_regs import (
    A_CAL_BEMF,
    A_CAL_COMP,
    CAL_AUTO_CAL_TIME,
    CAL_CONTROL2_LRA,
    CAL_FEEDBACK,
    CONTROL1,
    CONTROL2,
    CONTROL4,
    DIAG_RESULT_BIT,
    FEEDBACK,
    GO,
    LRA_BIT,
    OD_CLAMP,
    RATED_VOLTAGE,
    STATUS,
)
from station.errors import HardwareError
from station.wiring import HapticCalibration, HapticConfig

DEFAULT_LRA_HZ = 175.0


def drive_time(resonance_hz: float | None) -> int:
    """CONTROL1 DRIVE_TIME for an LRA: half its period, in 0.1 ms steps above 0.5 ms."""
    half_period_ms = 500.0 / (resonance_hz or DEFAULT_LRA_HZ)
    return max(0, min(31, round((half_period_ms - 0.5) / 0.1)))


def set_up(drv: Any, cfg: HapticConfig) -> None:
    """FEEDBACK, RATED_VOLTAGE, OD_CLAMP, AUTO_CAL_TIME (and for an LRA DRIVE_TIME and
    CONTROL2) as SLOA189 asks before auto-calibration."""
    lra = cfg.actuator == "lra"
    drv._write_u8(FEEDBACK, (LRA_BIT if lra else 0) | CAL_FEEDBACK)
    drv._write_u8(RATED_VOLTAGE, cfg.rated_voltage)
    drv._write_u8(OD_CLAMP, cfg.overdrive_clamp)
    control4 = drv._read_u8(CONTROL4)
    drv._write_u8(CONTROL4, (control4 & 0xCF) | CAL_AUTO_CAL_TIME << 4)
    if lra:
        drv._write_u8(CONTROL1, (drv._read_u8(CONTROL1) & 0xE0) | drive_time(cfg.resonance_hz))
        drv._write_u8(CONTROL2, CAL_CONTROL2_LRA)


def results(drv: Any) -> HapticCalibration:
    """What the chip found: A_CAL_COMP, A_CAL_BEMF and FEEDBACK's BEMF_GAIN."""
    return HapticCalibration(
        compensation=drv._read_u8(A_CAL_COMP),
        back_emf=drv._read_u8(A_CAL_BEMF),
        back_emf_gain=drv._read_u8(FEEDBACK) & 0x03,
    )


def run(
    drv: Any,
    cfg: HapticConfig,
    *,
    name: str,
    where: str,
    sleep: Callable[[float], None],
    timeout_s: float = 2.5,
    poll_s: float = 0.01,
) -> HapticCalibration:
    """Set up, GO in auto-calibration mode, wait for GO to clear (polling every ``poll_s``
    up to ``timeout_s``), check DIAG_RESULT, read the results, and leave the chip in RTP
    mode at 0. Raises ``HardwareError`` (timeout, failed calibration) or ``OSError`` (the
    bus); the caller switches the outputs off on either."""
    set_up(drv, cfg)
    drv.mode = adafruit_drv2605.MODE_AUTOCAL
    drv.play()
    for _ in range(max(1, math.ceil(timeout_s / poll_s))):
        sleep(poll_s)
        if not drv._read_u8(GO) & 1:
            break
    else:
        drv.stop()
        raise HardwareError(
            name,
            f"auto-calibration did not finish within {timeout_s} s on {where}; "
            "the chip may be faulty: power it down and try again",
        )
    if drv._read_u8(STATUS) & DIAG_RESULT_BIT:
        raise HardwareError(
            name,
            "auto-calibration failed (DIAG_RESULT = 1): the actuator must be mounted "
            "as in use (in its holder, against the skin or a stand-in) with its wires "
            f"connected, and RATED_VOLTAGE (0x{cfg.rated_voltage:02X}) / OD_CLAMP "
            f"(0x{cfg.overdrive_clamp:02X}) must suit this {cfg.actuator.upper()}",
        )
    cal = results(drv)
    drv.realtime_value = 0
    drv.mode = adafruit_drv2605.MODE_REALTIME
    return cal
