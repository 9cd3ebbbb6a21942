"""What a visitor who is not logged in may see: the state and the stop, nothing else.

The page is on the clinic's network (and a patient's home Wi-Fi), so a passer-by's phone
can open it. Stopping must work for everyone, and to press stop one needs to know whether
anything is running; the protocol, the level, the session, the step and what comes next are
the patient's health record and are not shown (issue 13). The progress bar is kept (how
long until it ends is part of "is it running"), the fault banner too (it says what to do).
"""

from __future__ import annotations

from typing import Any

HIDDEN_NONE = ("session", "step", "next", "questions", "guide")
ENGINE_KEYS = ("connected", "state", "estop_latched", "error")


def for_visitor(status: dict[str, Any], *, logged_in: bool) -> dict[str, Any]:
    """``status`` as this visitor may see it (unchanged for a logged-in user)."""
    if logged_in:
        return status
    out = dict(status)
    for key in HIDDEN_NONE:
        out[key] = None
    out["sites"] = {}
    engine = status.get("engine") or {}
    out["engine"] = {k: engine[k] for k in ENGINE_KEYS if k in engine}
    for key in ("stop_text", "site", "limit_text", "due_text"):
        out.pop(key, None)
    return out


def answer_for_visitor(answer: dict[str, Any], *, logged_in: bool) -> dict[str, Any]:
    """An action's answer whose ``status`` is shown as ``for_visitor`` shows it."""
    if logged_in or not isinstance(answer.get("status"), dict):
        return answer
    return {**answer, "status": for_visitor(answer["status"], logged_in=False)}
