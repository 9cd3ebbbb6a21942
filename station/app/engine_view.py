"""What the app knows of the engine: its last status, the fault that stops the station,
the LED pattern last sent, and whether the record is reconciled with it.

Why one small object: the event follower writes it (``station.app.engine_follow``), the
page's actions and the arming read it (``station.app.session_control``,
``station.app.arming``) and the coordinator shows it; each is handed this one object
instead of reaching into another's attributes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Refusals that say "not now" (a program plays, the e-stop is latched, nothing armed yet),
# not "this station cannot run this": they never become the station's fault banner.
TRANSIENT_REFUSALS = (
    "busy",
    "estop",
    "not_armed",
    "wrong_session",
    "calibrating",
    "not_running",
    "not_paused",
)


class EngineView:
    """Thread-safe; ``on_state`` is told each new engine state (for the pages)."""

    def __init__(self, *, simulate: bool, on_state: Callable[[str | None], None]):
        self.simulate = simulate  # the engine's own word wins once it is connected
        self._on_state = on_state
        self.lock = threading.RLock()
        # Held while a request writes the record around an engine call, so the event
        # thread's report of the same stop lands after it (and is then ignored).
        self.record = threading.RLock()
        self.linked = threading.Event()  # set once reconciled with a connected engine
        self._status: dict[str, Any] = {"connected": False, "state": "unknown"}
        self.refusal: dict[str, Any] | None = None  # the fault that made the last arm fail
        self.indicator: str | None = None  # the idle pattern last sent to the panel

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return dict(self._status)

    def get(self, key: str) -> Any:
        with self.lock:
            return self._status.get(key)

    @property
    def connected(self) -> bool:
        return bool(self.get("connected"))

    def set(self, status: dict[str, Any]) -> None:
        """Replace the status (``connected`` defaults to True); tell ``on_state`` when the
        state changed."""
        with self.lock:
            changed = status.get("state") != self._status.get("state")
            self._status = {**status, "connected": status.get("connected", True)}
        if changed:
            self._on_state(status.get("state"))

    def update(self, **fields: Any) -> None:
        """Change some fields (the step playing, the live fault, the armed session)."""
        with self.lock:
            self._status.update(fields)

    def disconnected(self, error: str) -> None:
        self.linked.clear()
        self.set({"connected": False, "state": "unknown", "error": error})

    def fault(self, status: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The fault that stops the station: the device fault the engine reports live,
        else the one that made the last arm or start fail (a device missing from the
        bus, or a program the engine refused)."""
        status = status if status is not None else self.snapshot()
        live = status.get("fault") if status.get("state") == "fault" else None
        return live or self.refusal
