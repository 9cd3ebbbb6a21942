"""What the page is told: the engine's state, the record and the plan as one status object.

Why apart from the coordinator: this is pure shaping (no threads, no engine calls), and
its words are what a patient reads, so they live in one place: the state sentence, the
fault banner naming the device, the "a session is due" and daily-limit messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from station.i18n import N_, _
from station.program_trials import public_step

LIVE_ENGINE_STATES = ("running", "paused")
STATE_TEXT = {
    "armed": N_("Ready: press Start on the page or the panel."),
    "running": N_("Running."),
    "paused": N_("Paused: press Resume on the page or Start on the panel."),
    "idle": N_("Nothing armed."),
    "stopped": N_("Stopped. Every output is off."),
    "estop": N_("Emergency stop is latched; release the e-stop button, then reset it."),
    "fault": N_("A device reported a fault; the station stopped."),
    "disconnected": N_("The engine is not reachable; outputs stay off."),
    "unknown": N_("Waiting for the engine..."),
}


def engine_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The engine's own names (``program_ms``, ``step``, ``mode``) -> the page's."""
    keys = ("state", "session_id", "estop_latched", "fault", "last_stop", "event_seq", "engine_id")
    out = {k: event[k] for k in keys if k in event}
    if "program_ms" in event:
        out["elapsed_ms"] = int(event["program_ms"] or 0)
    if "step" in event:
        out["step_index"] = event["step"]
    if "mode" in event:
        out["simulate"] = event["mode"] == "sim"
    if isinstance(out.get("session_id"), str) and out["session_id"].isdigit():
        out["session_id"] = int(out["session_id"])
    return out


def delivered(raw: Any) -> dict[str, Any]:
    """The engine reports what each actuator got; the record keeps it as an object."""
    if isinstance(raw, dict):
        return raw
    return {"segments": raw} if raw is not None else {}


def public_next(nxt: dict[str, Any] | None, *, running: bool) -> dict[str, Any] | None:
    """The next session without the compiled objects, times as ISO text."""
    if nxt is None:
        return None
    out = {k: v for k, v in nxt.items() if k not in ("protocol", "program")}
    if running:
        out.update(allowed=False, message=_("A session is running now."))
    elif isinstance(out.get("message"), str):  # worded when armed (maybe by a background
        out["message"] = _(out["message"])  # thread): a fixed sentence is translated here
    when = out.get("next_allowed_at")
    out["next_allowed_at"] = when.isoformat() if isinstance(when, datetime) else when
    return out


def fault_text(fault: dict[str, Any] | None) -> str | None:
    """A banner naming the device (or, for a program the engine refused, what it said):
    the patient reads it, the clinician acts on it."""
    if not fault:
        return None
    message = fault.get("message") or _("a fault")
    if not fault.get("device"):
        return _(
            "The station cannot run: %(message)s. No stimulation can start until it is "
            "fixed (the clinician checks the plan and the station's wiring file).",
            message=message,
        )
    return _(
        "Device '%(device)s' has a fault: %(message)s. No stimulation can start until it "
        "is fixed (check its cable and the I2C wiring, then restart the station).",
        device=fault["device"], message=message,
    )  # fmt: skip


def time_left_text(left_ms: int) -> str:
    return _("%(time)s left", time=f"{left_ms // 60000}:{(left_ms // 1000) % 60:02d}")


def describe(
    *,
    engine: dict[str, Any],
    current: Any,
    program: Any,
    nxt: dict[str, Any] | None,
    simulate: bool,
    fault: dict[str, Any] | None,
    reminder: dict[str, Any] | None,
    indicator: str,
) -> dict[str, Any]:
    """The status object of ``GET /api/status`` and the page's first paint.

    ``program`` is the current session's compiled Program (or None); ``fault`` the
    device fault the engine reported (live or from the last refused arm)."""
    state = engine.get("state", "unknown") if engine.get("connected") else "disconnected"
    step = None
    elapsed = int(engine.get("elapsed_ms") or 0)
    duration = 0
    threshold = None
    if current is not None and program is not None:
        duration, threshold = program.duration_ms, program.stop_threshold
        idx = engine.get("step_index")
        live_step = current.state in LIVE_ENGINE_STATES
        if live_step and isinstance(idx, int) and 0 <= idx < len(program.steps):
            step = public_step(program.steps[idx])  # a discrimination trial's site: never
        if current.state == "armed":
            state, elapsed = ("armed" if engine.get("connected") else state), 0
    live = current is not None and current.state in LIVE_ENGINE_STATES
    left = max(0, duration - elapsed) if live else 0
    pub_next = public_next(nxt, running=live)
    limit_text = None
    if indicator == "limit" and pub_next is not None:
        limit_text = pub_next.get("message")
    return {
        "state": state,
        "state_text": _(STATE_TEXT[state]) if state in STATE_TEXT else state,
        "engine": {
            k: engine.get(k) for k in ("connected", "state", "estop_latched", "error", "fault")
        },
        "session": None
        if current is None
        else {"id": current.id, "state": current.state, "level_name": current.level_name},
        "step": step,
        "elapsed_ms": elapsed if live else 0,
        "duration_ms": duration if live else (nxt or {}).get("duration_ms", 0),
        "progress": round(min(1.0, elapsed / duration), 4) if live and duration else 0.0,
        "time_left_ms": left,
        "time_left_text": time_left_text(left) if live else "",
        "next": pub_next,
        "stop_threshold": threshold,
        "simulate": simulate,
        "fault": fault,
        "fault_text": fault_text(fault),
        "estop_latched": bool(engine.get("estop_latched")),
        "reminder": reminder,
        "due_text": _("A session is due.") if reminder and reminder.get("due") else None,
        "indicator": indicator,
        "limit_text": limit_text,
    }
