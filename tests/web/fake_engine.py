"""A scripted engine for Flask-level tests: the EngineLink API without a process.

It keeps the engine's state machine (idle -> armed -> running -> stopped) and pushes the
events the real engine sends, so the coordinator's recording and re-arming run for real.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from station.engine_link import EngineRefused, EngineUnavailable


class FakeLink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.state = "idle"
        self.session_id: int | None = None
        self.program: dict[str, Any] | None = None
        self.step_index: int | None = None
        self.elapsed_ms = 0
        self.up = True
        self.stream_dropped = False
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self.outputs = {"forearm": {"active": False, "level": 0.0}}

    # EngineLink API -------------------------------------------------------------------
    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        params = params or {}
        if not self.up:
            raise EngineUnavailable("fake engine is down")
        with self._lock:
            self.calls.append((method, params))
            return getattr(self, "_" + method.replace(".", "_"))(**params)

    def events(
        self, *, stop: threading.Event, idle: Callable[[], None]
    ) -> Iterator[dict[str, Any]]:
        while not stop.is_set():
            if not self.up:
                self.stream_dropped = True
                raise EngineUnavailable("fake engine went down")
            try:
                yield self._events.get(timeout=0.05)
            except queue.Empty:
                idle()

    def close(self) -> None:
        self.up = False

    # engine methods -------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "session_id": self.session_id,
            "step": self.step_index,
            "program_ms": self.elapsed_ms,
            "estop_latched": False,
            "mode": "sim",
        }

    def _arm(self, program: dict[str, Any], session_id: int) -> dict[str, Any]:
        if self.state in ("running", "paused"):
            raise EngineRefused("arm", "busy", "a program is running")
        self.state, self.session_id, self.program = "armed", session_id, program
        return {"armed": session_id}

    def _disarm(self) -> dict[str, Any]:
        if self.state == "armed":
            self.state, self.session_id = "idle", None
        return {}

    def _start(self, session_id: Any = None, by: str | None = None) -> dict[str, Any]:
        if self.state != "armed":
            raise EngineRefused("start", "not_armed", "nothing armed")
        self.state, self.step_index, self.elapsed_ms = "running", 0, 0
        self.outputs["forearm"] = {"active": True, "level": 0.2}
        self.push("started", by=by)
        self.push("state", state="running")
        self.push("step_started", index=0)
        return {"started": self.session_id}

    def _stop(self, reason: str = "api", by: str | None = None) -> dict[str, Any]:
        if reason not in ("api", "too_much", "rating", "stop", "estop"):
            raise EngineRefused("stop", "bad_params", f"stop reason {reason!r}")
        was = self.state
        self.outputs["forearm"] = {"active": False, "level": 0.0}
        if was in ("running", "paused"):
            self.state = "stopped"
            self.push("stopped", reason=reason, by=by)
            self.push("state", state="stopped")
        return {"was": was}

    def _rate(self, value: int) -> dict[str, Any]:
        threshold = (self.program or {}).get("stop_threshold")
        if self.state == "running" and threshold is not None and value >= threshold:
            self._stop(reason="rating", by="rating")
            return {"stopped": True}
        return {"stopped": False}

    def _sim_press(self, button: str) -> dict[str, Any]:
        if button == "start":
            return self._start(by="panel")
        return self._stop(reason=button, by="panel")

    def _sim_release(self, button: str) -> dict[str, Any]:
        return {}

    def _sim_outputs(self) -> dict[str, Any]:
        return dict(self.outputs)

    def _sim_trace(self, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        return {"records": [], "last_seq": 0}

    # test controls ----------------------------------------------------------------------
    def push(self, event: str, **fields: Any) -> None:
        self._events.put({"event": event, "session_id": self.session_id, **fields})

    def finish(self) -> None:
        """Play the rest of the program at once: every step, then completed."""
        steps = (self.program or {}).get("steps", [])
        for step in steps:
            self.push("step_started", index=step["index"])
            self.push("step_finished", index=step["index"], delivered={"ok": True})
        self.state = "stopped"
        self.outputs["forearm"] = {"active": False, "level": 0.0}
        self.push("stopped", reason="completed", by="engine")
