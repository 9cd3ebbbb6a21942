"""Haptic auto-calibration on the clinician's request: which actuators, and the checks
before the engine runs it (the engine does the DRV2605L work: ``station.engine.calibrate``).
"""

from __future__ import annotations

import logging
from typing import Any

from station.app.engine_link import CALIBRATE_TIMEOUT_S, EngineLink, EngineRefused
from station.errors import Conflict, InvalidInput
from station.storage import Store
from station.wiring import WiringConfig

log = logging.getLogger("station.app.calibration")


def calibratable(wiring: WiringConfig) -> list[str]:
    """The actuators auto-calibration is for: the LRAs. They run closed loop, where the
    results are used; the ERMs run open loop (full scale = OD_CLAMP), where they are not
    (hardware/README.md, "The drive that reaches the skin")."""
    return sorted(h.name for h in wiring.haptic if h.actuator == "lra")


def calibrate(
    link: EngineLink, store: Store, wiring: WiringConfig, actuator: Any, *, by: str
) -> dict[str, Any]:
    """DRV2605L auto-calibration of one haptic actuator, run by the engine (~1.1 s).
    Refused for a brush or an unknown name (``InvalidInput`` naming the allowed ones) and
    while a session is running or paused (``Conflict`` naming it)."""
    haptics = calibratable(wiring)
    if not isinstance(actuator, str) or actuator not in haptics:
        brushes = {b.name for b in wiring.brush}
        erms = {h.name for h in wiring.haptic if h.actuator == "erm"}
        why = (
            "is a brush; auto-calibration is for the haptic actuators (DRV2605L)"
            if isinstance(actuator, str) and actuator in brushes
            else "is an ERM, run in open loop: there is nothing to calibrate"
            if isinstance(actuator, str) and actuator in erms
            else "is not a haptic actuator of this station"
        )
        raise InvalidInput(
            "actuator",
            actuator,
            haptics,
            f"actuator = {actuator!r} {why}; allowed: {', '.join(haptics)}",
        )
    current = store.sessions.current()
    if current is not None and current.state in ("running", "paused"):
        raise Conflict(
            f"session {current.id} is {current.state}; stop it first, then calibrate {actuator}"
        )
    try:
        result = link.call_alone(
            "calibrate", {"actuator": actuator}, timeout=CALIBRATE_TIMEOUT_S
        )
    except EngineRefused as exc:
        if exc.code in ("unknown_actuator", "not_haptic", "bad_params", "open_loop"):
            raise InvalidInput("actuator", actuator, haptics, str(exc)) from None
        raise
    log.info("haptic %s calibrated by %s: %s", actuator, by, result)
    return result
