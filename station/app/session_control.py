"""What the page (and the API) does to a session: start, pause, resume, stop, rate.

Why apart from the coordinator's event following: these are the request-side actions,
each one "engine first (outputs), then the record", run on web threads; the coordinator
(``station.app.coordinator``) mixes them in and provides the store, the link, the planner,
the recorder and the arming they use.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from station.app.engine_link import EngineUnavailable
from station.app.status_text import LIVE_ENGINE_STATES
from station.errors import Conflict, NotAllowed, StationError

START_LINK_WAIT_S = 3.0  # right after start-up the event thread may still be connecting

log = logging.getLogger("station.app.coordinator")


class SessionControl:
    """Mixed into ``Coordinator``; every attribute below is set by its constructor."""

    store: Any
    link: Any
    planner: Any
    recorder: Any
    _record: threading.RLock
    _engine: dict[str, Any]
    _arm_fault: dict[str, Any] | None

    def arm_next(self, *, force: bool = False) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def sync_indicator(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def status(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _publish(self, event: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _call_quiet(self, method: str, params: dict[str, Any] | None = None) -> None:
        try:
            self.link.call(method, params)
        except StationError as exc:
            log.warning("engine %s: %s", method, exc)

    # -- what the page does -------------------------------------------------------------------

    def start(self, *, by: str) -> dict[str, Any]:
        if not self.wait_linked(START_LINK_WAIT_S):
            raise EngineUnavailable(
                "the station's engine is not reachable, so nothing can start; outputs stay "
                "off. Check that the engine is running (station status) and try again"
            )
        current = self.store.current_session()
        if current is not None and current.state in ("running", "paused"):
            raise Conflict(f"session {current.id} is already {current.state}; stop it first")
        if current is None or current.state != "armed":
            self.arm_next(force=True)
            current = self.store.current_session()
        if current is None or current.state != "armed":
            fault = self._arm_fault
            if fault:
                raise Conflict(
                    f"cannot start: device '{fault.get('device') or 'unknown'}' has a fault: "
                    f"{fault.get('message')}; fix it (cable, I2C wiring) and restart the station"
                )
            nxt = self.planner.next_program()
            self.sync_indicator()
            raise NotAllowed(
                nxt["message"] if nxt else "no plan is assigned yet",
                next_allowed_at=nxt and nxt.get("next_allowed_at"),
            )
        self.store.set_state(current.id, "running", "started from the page", by)
        try:
            self.link.call("start", {"session_id": current.id})
        except StationError as exc:
            self.recorder.final(current.id, "stopped", f"the engine did not start: {exc}", "engine")
            raise
        self._publish({"event": "session", "session_id": current.id, "state": "running"})
        return {"session_id": current.id, "status": self.status()}

    def pause(self, *, by: str) -> dict[str, Any]:
        """Outputs to zero, the program waits; recorded as paused by whom."""
        with self._record:
            current = self.store.current_session()
            if current is None or current.state != "running":
                raise Conflict("nothing is running to pause")
            self.link.call("pause")
            self.store.set_state(current.id, "paused", "paused from the page", by)
        return {"paused": True, "status": self.status()}

    def resume(self, *, by: str) -> dict[str, Any]:
        with self._record:
            current = self.store.current_session()
            if current is None or current.state != "paused":
                raise Conflict("nothing is paused to resume")
            self.link.call("resume")
            self.store.set_state(current.id, "running", "resumed from the page", by)
        return {"resumed": True, "status": self.status()}

    def reset_estop(self, *, by: str) -> dict[str, Any]:
        """Unlatch the e-stop (the engine refuses while the contact is still open)."""
        result = self.link.call("reset_estop")
        log.info("e-stop reset by %s", by)
        self.arm_next(force=True)
        return {"reset": True, "engine": result, "status": self.status()}

    def stop(self, *, reason: str, by: str) -> dict[str, Any]:
        """Stop the engine first (outputs off), then record who stopped and why."""
        with self._record:
            engine_reason = "too_much" if reason == "too_much" else "api"
            result = self.link.call("stop", {"reason": engine_reason, "by": by})
            current = self.store.current_session()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                self.recorder.final(current.id, "stopped", reason, by)
        self.arm_next()
        self.sync_indicator()
        return {"stopped": True, "engine": result, "status": self.status()}

    def too_much(self, *, by: str) -> dict[str, Any]:
        out = self.stop(reason="too_much", by=by)
        return {**out, "recorded": "too_much"}

    def rate(
        self,
        value: int,
        *,
        by: str,
        pleasantness: int | None = None,
        lingering: bool | None = None,
        lingering_where: str | None = None,
    ) -> dict[str, Any]:
        """Store a rating (returns once it is on disk); a live one at or above the stop
        threshold reaches the engine first."""
        with self._record:
            current = self.store.current_session()
            live = current is not None and current.state in LIVE_ENGINE_STATES
            stopped = False
            if live:
                threshold = self.planner.stop_threshold(current.id)
                if threshold is not None and value >= threshold:
                    self.link.call("rate", {"value": value})
                    stopped = True
                else:
                    self._call_quiet("rate", {"value": value})
                step = self._engine.get("step_index")
                sid = current.id
            else:
                ended = [s.id for s in self.store.list_sessions(limit=5) if s.state != "armed"]
                if not ended:
                    raise Conflict("there is no session to rate yet; start one first")
                sid = ended[0]
                step = None
            rid = self.store.add_rating(
                sid,
                value,
                step_index=step,
                live=live,
                pleasantness=pleasantness,
                lingering=lingering,
                lingering_where=lingering_where if lingering else None,
            )
            if stopped:
                self.recorder.final(
                    sid, "stopped", f"live rating {value} at or above the stop threshold", by
                )
        if stopped:
            self.arm_next()
        self._publish({"event": "rating", "session_id": sid, "value": value})
        return {"id": rid, "session_id": sid, "value": value, "live": live, "stopped": stopped}

    def add_journal(self, text: str, *, trigger: str | None, by: str) -> dict[str, Any]:
        return self.store.add_journal(text, trigger).as_dict()
