"""DRV2605L auto-calibration of one haptic actuator, run THROUGH the engine.

Why through the engine: it alone owns the hardware (one thread or one lock on the I2C
bus). Why not in the loop: calibration drives the actuator for ~1.1 s (AUTO_CAL_TIME 3,
1000-1200 ms) while the chip measures it; a 1 kHz tick cannot wait that long. So:

1. the request is checked on the loop thread (``LoopCommands.calibrate_begin``): refused while a
   session plays or is paused (naming it), with the e-stop latched, or while another
   calibration runs; from then on ``start`` is refused until it ends;
2. the watchdog is told "calibrating until T" (``engine.relaxed_until_ns``): it does not
   trip while the lock is legitimately held, and trips (then escalates) if it is still
   held after T;
3. the caller's thread (the IPC connection's) takes the hardware lock and calls
   ``HapticDriver.calibrate``, which programs the chip, waits for GO to clear, checks
   DIAG_RESULT and writes the results to the ``CalibrationStore`` (the drivers write them
   back at every start, ``HapticDriver._configure``);
4. the driver goes back to how the engine had it: off, or (when a program is armed)
   restarted so it runs the normal configuration with the new values, at amplitude 0.

Stop always wins: a stop request during a calibration drops that driver's EN at once
(``Engine.request_stop``), the calibration fails on its next bus access, nothing is
stored, and the loop's stop then runs as usual.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from station.engine import messages as ev
from station.errors import EngineError, HardwareError

if TYPE_CHECKING:
    from station.engine.core import Engine

# HapticDriver.calibrate's own GO timeout (2.5 s) + restarting the driver + a margin.
CALIBRATE_BUDGET_S = 4.0
# What a client waits for the answer (the budget, plus queueing and the reply).
CALIBRATE_CALL_TIMEOUT_S = CALIBRATE_BUDGET_S + 4.0


def check_actuator(hw: Any, actuator: str) -> str:
    """The haptic actuator's name, or an ``EngineError`` naming the field, the value and
    the allowed values (its type is checked by the IPC registry)."""
    haptics = sorted(hw.haptics)
    if actuator in hw.brushes:
        raise EngineError(
            "not_haptic",
            f"calibrate: actuator {actuator!r} is a brush (a servo); auto-calibration is "
            f"for the haptic drivers (DRV2605L): {', '.join(haptics)}",
        )
    if actuator not in hw.haptics:
        raise EngineError(
            "unknown_actuator",
            f"calibrate: actuator {actuator!r} is not in the wiring; haptic actuators: "
            f"{', '.join(haptics)}",
        )
    if hw.haptics[actuator].config.actuator == "erm":
        lras = [n for n in haptics if hw.haptics[n].config.actuator == "lra"]
        raise EngineError(
            "open_loop",
            f"calibrate: actuator {actuator!r} is an ERM, which the station runs in open "
            "loop (full scale = OD_CLAMP): auto-calibration results are used only in closed "
            f"loop, so there is nothing to calibrate. LRAs to calibrate: {', '.join(lras)}",
        )
    return actuator


def stored(engine: Engine) -> dict[str, Any]:
    """Every haptic actuator with its kind and stored calibration (None when never
    calibrated), and whether the wiring file pins other values (those win at start)."""
    store = getattr(engine, "calibration_store", None)
    entries = store.entries() if store is not None else {}
    out: dict[str, Any] = {}
    for name in sorted(engine.hw.haptics):
        cfg = engine.hw.haptics[name].config
        out[name] = {
            "actuator_kind": cfg.actuator,
            "stored": entries.get(name),
            "pinned_in_wiring": cfg.calibration is not None,
        }
    return {"actuators": out, "file": None if store is None else str(store.path)}


def run_calibration(engine: Engine, actuator: str) -> dict[str, Any]:
    """Calibrate ``actuator`` on the CALLING thread (never the loop's); see the module
    docstring. Returns the stored values; raises ``EngineError`` with a clear message."""
    name = check_actuator(engine.hw, actuator)
    engine.submit("calibrate_begin", actuator=name)  # state checks on the loop thread
    haptic = engine.hw.haptics[name]
    cfg = haptic.config
    error: str | None = None
    cal = None
    fault: str | None = None
    stop: ev.StopRequest | None = None
    interrupted = False
    try:
        with engine.hw_lock:
            drivers_on = engine.drivers_on
            try:
                cal = haptic.calibrate()
            except HardwareError as exc:
                error = str(exc)
            except Exception as exc:  # a store that cannot be written, ...
                error = f"{type(exc).__name__}: {exc}"
            stop = engine.stop_request  # a stop during the calibration dropped EN
            interrupted = stop is not None
            haptic.off()  # back to a known state: RTP 0, standby, EN low
            if drivers_on and not interrupted:
                try:
                    haptic.start()  # armed: normal configuration with the new values
                    engine.poller.reset(time.monotonic_ns())
                except HardwareError as exc:
                    fault = str(exc)
    finally:
        engine.calibrating = None
        engine.relaxed_until_ns = time.monotonic_ns()  # the ordinary bound, from now
    if fault is not None:
        engine.fault = ev.FaultInfo(device=name, message=fault)
        engine.hub.emit(ev.FaultEvent(device=name, message=fault, session_id=engine.session_id))
        engine.request_stop("fault", by=name)
    if interrupted and error is not None:
        assert stop is not None
        error = (
            f"auto-calibration of {name} was interrupted by a stop ({stop.reason}); nothing was "
            "stored and every output is off; run it again when ready"
        )
    if error is not None:
        engine.hub.emit(ev.CalibratedEvent(actuator=name, ok=False, error=error))
        raise EngineError("calibration_failed", error)
    assert cal is not None
    store = getattr(engine, "calibration_store", None)
    entry = store.entries().get(name) if store is not None else None
    result: dict[str, Any] = {
        "actuator": name,
        "actuator_kind": cfg.actuator,
        "compensation": cal.compensation,
        "back_emf": cal.back_emf,
        "back_emf_gain": cal.back_emf_gain,
        "calibrated_at": entry.get("calibrated_at") if entry else None,
        "stored_in": None if store is None else str(store.path),
        "applied": cfg.calibration is None,
    }
    if cfg.calibration is not None:
        result["note"] = (
            f"the wiring file pins calibration values for {name}; they win at every start, "
            f"so these stored values are not used until you remove [haptic.calibration] "
            f"for {name} from the wiring file"
        )
    values = {k: result[k] for k in ("compensation", "back_emf", "back_emf_gain")}
    engine.hub.emit(ev.CalibratedEvent(actuator=name, ok=True, values=values))
    return result
