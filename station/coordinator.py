"""The app-side coordinator: the one place where the record, the plan and the engine meet.

Why a separate service: the web views must stay thin and the engine must stay dumb. The
coordinator keeps the next program armed before anyone presses a button (so the panel's
start works without the page), refuses starts the protocol's limits forbid and says when
the next one is allowed, turns the engine's events into the session record (what was
delivered, never what was planned), decides progression when a session ends, and passes a
live rating at or above the stop threshold straight to the engine. A background thread
follows the engine's event stream and reconnects when the engine restarts; sessions the
engine lost are marked aborted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from station.engine_link import EngineLink, EngineUnavailable
from station.errors import Conflict, InvalidInput, NotAllowed, NotFound, StationError
from station.planner import Planner
from station.storage import Store

log = logging.getLogger("station.coordinator")

RECONNECT_S = 1.0
SUB_QUEUE = 256
LIVE_ENGINE_STATES = ("running", "paused")
NEXT_CACHE_S = 1.0
STATE_TEXT = {
    "armed": "Ready: press Start on the page or the panel.",
    "running": "Running.",
    "paused": "Paused.",
    "idle": "Nothing armed.",
    "stopped": "Stopped. Every output is off.",
    "estop": "Emergency stop is latched; reset it at the station.",
    "fault": "A device reported a fault; the station stopped.",
    "disconnected": "The engine is not reachable; outputs stay off.",
    "unknown": "Waiting for the engine...",
}


class Subscription:
    """One listener (an open page) on the coordinator's event fan-out."""

    def __init__(self, *, owner: Coordinator):
        self._owner = owner
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=SUB_QUEUE)

    def put(self, event: dict[str, Any]) -> None:
        try:
            self._q.put_nowait(event)
        except queue.Full:  # a stalled page loses old events, never blocks the station
            try:
                self._q.get_nowait()
                self._q.put_nowait(event)
            except (queue.Empty, queue.Full):
                pass

    def get(self, timeout: float) -> dict[str, Any]:
        return self._q.get(timeout=timeout)

    def close(self) -> None:
        self._owner._unsubscribe(self)


class Coordinator:
    """Owns the Store and the engine link; every method is safe from any thread."""

    def __init__(
        self,
        *,
        data_dir: Path,
        simulate: bool,
        config_path: str | Path | None = None,
        store: Store | None = None,
        link: EngineLink | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.simulate = simulate
        self.store = store or Store.open(self.data_dir)
        self.planner = Planner(
            data_dir=self.data_dir, store=self.store, config_path=config_path, clock=clock
        )
        self.link = link or EngineLink(data_dir=self.data_dir)
        self._lock = threading.RLock()
        # Held while a request writes the record around an engine call, so the event
        # thread's report of the same stop lands after it (and is then ignored).
        self._record = threading.RLock()
        self._subs: list[Subscription] = []
        self._engine: dict[str, Any] = {"connected": False, "state": "unknown"}
        self._engine_at = time.monotonic()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._next_check = 0.0
        self._next_cache: tuple[float, dict[str, Any] | None] | None = None
        if self.simulate:
            self.planner.seed_demo()

    # -- lifecycle ----------------------------------------------------------------------

    def start_background(self) -> None:
        """Follow the engine's events in a thread; reconnects until ``close()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engine-events", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self.link.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                status = _engine_fields(self.link.call("status"))
                self._on_connect(status)
                for event in self.link.events(stop=self._closing, idle=self._idle):
                    self._handle(event)
            except EngineUnavailable as exc:
                self._set_engine({"connected": False, "state": "unknown", "error": str(exc)})
            except Exception:  # the thread must survive anything and keep following
                log.exception("engine event thread")
            self._closing.wait(RECONNECT_S)

    def _idle(self) -> None:
        """Called by the event stream when quiet: arm once the limits allow again."""
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + 5.0
            self.arm_next()

    # -- engine state and events ----------------------------------------------------------

    def _set_engine(self, status: dict[str, Any]) -> None:
        with self._lock:
            changed = status.get("state") != self._engine.get("state")
            self._engine = {**status, "connected": status.get("connected", True)}
            self._engine_at = time.monotonic()
        if changed:
            self._publish({"event": "state", "state": status.get("state")})

    def _on_connect(self, status: dict[str, Any]) -> None:
        """Reconcile the record with the engine after a (re)connect."""
        self._set_engine({**status, "connected": True})
        if "simulate" in status:
            self.simulate = bool(status["simulate"])
        engine_sid = status.get("session_id")
        current = self.store.current_session()
        if current is not None and current.id != engine_sid and current.state != "armed":
            self._final(current.id, "aborted", "the engine lost the session (restart)", "engine")
        elif (
            current is not None
            and current.state in LIVE_ENGINE_STATES
            and status.get("state") not in LIVE_ENGINE_STATES
        ):
            self._final(current.id, "aborted", "the engine no longer runs the session", "engine")
        self.arm_next(force=engine_sid != getattr(self.store.current_session(), "id", None))

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        sid = _engine_fields(event).get("session_id")
        if kind == "state" or "state" in event:
            self._set_engine({**self._engine, **_engine_fields(event)})
        if kind == "step_started" and isinstance(event.get("index"), int):
            with self._lock:
                self._engine["step_index"] = event["index"]
        try:
            with self._record:
                self._record_event(kind, sid, event)
        except StationError as exc:
            log.warning("recording %s for session %s: %s", kind, sid, exc)
        self._publish(event)

    def _record_event(self, kind: str | None, sid: int | None, event: dict[str, Any]) -> None:
        if kind == "started" and sid is not None:
            self._mark_running(sid, event.get("by"))
        elif kind == "step_started" and sid is not None:
            self._mark_running(sid, event.get("by"))
            step = self.planner.step_of(sid, int(event["index"]))
            self.store.record_step(
                sid, step.index, step.kind, step.label, started_at=self.planner.now()
            )
        elif kind == "step_finished" and sid is not None:
            step = self.planner.step_of(sid, int(event["index"]))
            self.store.record_step(
                sid,
                step.index,
                step.kind,
                step.label,
                started_at=self.planner.now(),
                finished_at=self.planner.now(),
                delivered=_delivered(event.get("delivered")),
            )
        elif kind == "stopped" and sid is not None:
            reason = str(event.get("reason") or "stopped")
            state = "completed" if reason in ("completed", "finished", "end") else "stopped"
            self._final(sid, state, reason, event.get("by") or "engine")
            self.arm_next()
        elif kind == "fault" and sid is not None:
            self._final(
                sid, "stopped", f"fault: {event.get('message', event.get('device'))}", "engine"
            )

    def _mark_running(self, sid: int, by: str | None) -> None:
        try:
            session = self.store.get_session(sid, full=False)
            if session.state == "armed":
                self.store.set_state(sid, "running", "started", by or "panel", enforce_limits=False)
            elif session.state == "paused":
                self.store.set_state(sid, "running", "resumed", by or "panel")
        except (Conflict, NotFound):
            pass

    def _final(self, sid: int, state: str, reason: str, by: str | None) -> None:
        """End a session in the record once (a later, duplicate report is ignored) and
        decide progression for it."""
        try:
            session = self.store.get_session(sid, full=False)
        except NotFound:
            return
        if session.final:
            return
        if session.state == "armed" and state == "completed":
            state = "stopped"
        try:
            self.store.set_state(sid, state, reason[:200], (by or "")[:60] or None)
        except Conflict:
            return
        if session.state != "armed":
            self.planner.decide_after(sid)

    # -- arming -------------------------------------------------------------------------

    def arm_next(self, *, force: bool = False) -> None:
        """Make sure the next program is armed in the engine, if the limits allow."""
        self._invalidate()
        with self._lock:
            if not self._engine.get("connected"):
                return
            current = self.store.current_session()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                return
            if current is not None and not force and self._engine.get("session_id") == current.id:
                return
            plan = self.planner.next_program()
            if plan is None or not plan["allowed"]:
                if current is not None:
                    self._final(
                        current.id,
                        "stopped",
                        "disarmed: " + (plan["message"] if plan else "no plan"),
                        "system",
                    )
                    self._call_quiet("disarm")
                return
            sid = self.planner.create_session(plan)
            try:
                self.link.call(
                    "arm", {"program": plan["program"].model_dump(mode="json"), "session_id": sid}
                )
            except StationError as exc:
                self._final(sid, "stopped", f"the engine refused to arm: {exc}", "engine")
                log.warning("arming session %s: %s", sid, exc)
                return
            self._engine["session_id"] = sid
        self._publish({"event": "session", "session_id": sid, "state": "armed"})

    def _call_quiet(self, method: str, params: dict[str, Any] | None = None) -> None:
        try:
            self.link.call(method, params)
        except StationError as exc:
            log.warning("engine %s: %s", method, exc)

    # -- what the page calls ------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        try:
            engine = {**_engine_fields(self.link.call("status", timeout=1.0)), "connected": True}
            self._set_engine(engine)
        except EngineUnavailable as exc:
            self._set_engine({"connected": False, "state": "unknown", "error": str(exc)})
            engine = dict(self._engine)
        except StationError:
            engine = dict(self._engine)
        return self._describe(engine, self.store.current_session())

    def next_info(self) -> dict[str, Any] | None:
        """The next session as the page shows it (cached briefly: compiling is not free)."""
        with self._lock:
            if self._next_cache and time.monotonic() - self._next_cache[0] < NEXT_CACHE_S:
                return self._next_cache[1]
        try:
            nxt = self.planner.next_program()
        except StationError as exc:
            nxt = {"error": str(exc), "allowed": False, "message": f"The plan cannot run: {exc}"}
        with self._lock:
            self._next_cache = (time.monotonic(), nxt)
        return nxt

    def _invalidate(self) -> None:
        with self._lock:
            self._next_cache = None

    def _describe(self, engine: dict[str, Any], current: Any) -> dict[str, Any]:
        nxt = self.next_info()
        state = engine.get("state", "unknown") if engine.get("connected") else "disconnected"
        step = None
        elapsed = int(engine.get("elapsed_ms") or 0)
        duration = 0
        threshold = None
        if current is not None:
            program = self.planner.program_of(current.id)
            duration, threshold = program.duration_ms, program.stop_threshold
            idx = engine.get("step_index")
            live_step = current.state in LIVE_ENGINE_STATES and isinstance(idx, int)
            if live_step and 0 <= idx < len(program.steps):
                step = program.steps[idx].model_dump(mode="json")
            if current.state == "armed":
                state, elapsed = ("armed" if engine.get("connected") else state), 0
        live = current is not None and current.state in LIVE_ENGINE_STATES
        left = max(0, duration - elapsed) if live else 0
        return {
            "state": state,
            "state_text": STATE_TEXT.get(state, state),
            "engine": {k: engine.get(k) for k in ("connected", "state", "estop_latched", "error")},
            "session": None
            if current is None
            else {"id": current.id, "state": current.state, "level_name": current.level_name},
            "step": step,
            "elapsed_ms": elapsed if live else 0,
            "duration_ms": duration if live else (nxt or {}).get("duration_ms", 0),
            "progress": round(min(1.0, elapsed / duration), 4) if live and duration else 0.0,
            "time_left_ms": left,
            "time_left_text": f"{left // 60000}:{(left // 1000) % 60:02d} left" if live else "",
            "next": _public_next(nxt, running=live),
            "stop_threshold": threshold,
            "simulate": self.simulate,
        }

    def start(self, *, by: str) -> dict[str, Any]:
        current = self.store.current_session()
        if current is None or current.state != "armed":
            self.arm_next(force=True)
            current = self.store.current_session()
        if current is None or current.state != "armed":
            nxt = self.planner.next_program()
            raise NotAllowed(
                nxt["message"] if nxt else "no plan is assigned yet",
                next_allowed_at=nxt and nxt.get("next_allowed_at"),
            )
        self.store.set_state(current.id, "running", "started from the page", by)
        try:
            self.link.call("start", {"session_id": current.id})
        except StationError as exc:
            self._final(current.id, "stopped", f"the engine did not start: {exc}", "engine")
            raise
        self._publish({"event": "session", "session_id": current.id, "state": "running"})
        return {"session_id": current.id, "status": self.status()}

    def stop(self, *, reason: str, by: str) -> dict[str, Any]:
        """Stop the engine first (outputs off), then record who stopped and why."""
        with self._record:
            engine_reason = "too_much" if reason == "too_much" else "api"
            result = self.link.call("stop", {"reason": engine_reason, "by": by})
            current = self.store.current_session()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                self._final(current.id, "stopped", reason, by)
        self.arm_next()
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
            return self._rate(
                value,
                by=by,
                pleasantness=pleasantness,
                lingering=lingering,
                lingering_where=lingering_where,
            )

    def _rate(
        self,
        value: int,
        *,
        by: str,
        pleasantness: int | None,
        lingering: bool | None,
        lingering_where: str | None,
    ) -> dict[str, Any]:
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
            self._final(sid, "stopped", f"live rating {value} at or above the stop threshold", by)
            self.arm_next()
        self._publish({"event": "rating", "session_id": sid, "value": value})
        return {"id": rid, "session_id": sid, "value": value, "live": live, "stopped": stopped}

    def add_journal(self, text: str, *, trigger: str | None, by: str) -> dict[str, Any]:
        return self.store.add_journal(text, trigger).as_dict()

    def list_sessions(self, *, limit: int) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.store.list_sessions(limit=limit)]

    def get_session(self, session_id: int) -> dict[str, Any]:
        return self.store.get_session(session_id).as_dict()

    # -- plan, caps, settings, protocols (delegated; changes re-arm) ----------------------

    def assign(self, protocol_id: str, level: str, *, by: str) -> dict[str, Any]:
        out = self.planner.assign(protocol_id, level, by=by)
        self.arm_next(force=True)
        return out

    def set_caps(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.set_caps(changes, by=by)
        self.arm_next(force=True)
        return out

    def update_settings(self, changes: dict[str, Any], *, by: str) -> dict[str, Any]:
        out = self.planner.update_settings(changes, by=by)
        self.arm_next(force=True)
        return out

    # -- simulator --------------------------------------------------------------------------

    def sim_press(self, name: str) -> dict[str, Any]:
        self._require_sim()
        self.link.call("sim.press", {"button": name})
        time.sleep(0.05)
        self.link.call("sim.release", {"button": name})
        return {"pressed": name}

    def sim_outputs(self) -> dict[str, Any]:
        self._require_sim()
        return self.link.call("sim.outputs")

    def sim_trace(self, *, since: int, limit: int) -> dict[str, Any]:
        self._require_sim()
        return self.link.call("sim.trace", {"since": since, "limit": limit})

    def _require_sim(self) -> None:
        if not self.simulate:
            raise NotFound("the station drives real hardware; there is no simulator")

    # -- events to pages ------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        sub = Subscription(owner=self)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.put(event)


def _delivered(raw: Any) -> dict[str, Any]:
    """The engine reports what each actuator got; the record keeps it as an object."""
    if isinstance(raw, dict):
        return raw
    return {"segments": raw} if raw is not None else {}


def _public_next(nxt: dict[str, Any] | None, *, running: bool) -> dict[str, Any] | None:
    if nxt is None:
        return None
    out = {k: v for k, v in nxt.items() if k not in ("protocol", "program")}
    if running:
        out.update(allowed=False, message="A session is running now.")
    when = out.get("next_allowed_at")
    out["next_allowed_at"] = when.isoformat() if isinstance(when, datetime) else when
    return out


def _engine_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The engine's own names (``program_ms``, ``step``, ``mode``) -> the page's."""
    out = {k: event[k] for k in ("state", "session_id", "estop_latched", "fault") if k in event}
    if "program_ms" in event:
        out["elapsed_ms"] = int(event["program_ms"] or 0)
    if "step" in event:
        out["step_index"] = event["step"]
    if "mode" in event:
        out["simulate"] = event["mode"] == "sim"
    if isinstance(out.get("session_id"), str) and out["session_id"].isdigit():
        out["session_id"] = int(out["session_id"])
    return out


__all__ = ["Coordinator", "EngineUnavailable", "InvalidInput", "Subscription"]
