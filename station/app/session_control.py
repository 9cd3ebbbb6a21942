"""What the page (and the API) does to a session: start, pause, resume, stop, rate.

Why apart from the event following (``station.app.engine_follow``): these are the
request-side actions, each one "engine first (outputs), then the record", run on web
threads. The coordinator (``station.app.coordinator``) builds this with the store, the
link, the planner, the recorder, the arming and the shared engine state, and adds the
page's status to what each action returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from station.app.arming import Arming
from station.app.engine_link import EngineLink, EngineUnavailable
from station.app.engine_view import EngineView
from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.app.status_text import LIVE_ENGINE_STATES
from station.app.too_much import record_too_much
from station.errors import Conflict, NotAllowed, StationError
from station.storage import Store

NOT_SAVED = (
    "the session stopped, but the station's disk is full: the record will show this stop "
    "(and the rating) as soon as space is freed; free space on the station"
)
START_LINK_WAIT_S = 3.0  # right after start-up the event thread may still be connecting

log = logging.getLogger("station.app.session_control")


class SessionControl:
    def __init__(
        self,
        *,
        store: Store,
        link: EngineLink,
        planner: Planner,
        recorder: SessionRecorder,
        arming: Arming,
        engine: EngineView,
        publish: Callable[[dict[str, Any]], None],
    ):
        self.store = store
        self.link = link
        self.planner = planner
        self.recorder = recorder
        self.arming = arming
        self.engine = engine
        self._publish = publish

    # -- what the page does -------------------------------------------------------------------

    def start(self, *, by: str) -> dict[str, Any]:
        """Start the armed session (arming it first if needed); refused with the reason
        (the engine unreachable, the station's fault, the limits) when it cannot."""
        if not self.engine.linked.wait(START_LINK_WAIT_S):
            raise EngineUnavailable(
                "the station's engine is not reachable, so nothing can start; outputs stay "
                "off. Check that the engine is running (station status) and try again"
            )
        with self.engine.record:  # one start at a time; the engine decides (``start``)
            return self._start(by=by)

    def _start(self, *, by: str) -> dict[str, Any]:
        current = self.store.sessions.current()
        if current is not None and current.state in ("running", "paused"):
            raise Conflict(f"session {current.id} is already {current.state}; stop it first")
        if current is None or current.state != "armed":
            self.arming.arm_next(force=True)
            current = self.store.sessions.current()
        if current is None or current.state != "armed":
            fault = self.engine.refusal
            if fault and fault.get("device"):
                raise Conflict(
                    f"cannot start: device '{fault['device']}' has a fault: "
                    f"{fault.get('message')}; fix it (cable, I2C wiring) and restart the station"
                )
            if fault:
                raise Conflict(f"cannot start: {fault.get('message')}")
            nxt = self.planner.next_program()
            self.arming.sync_indicator()
            raise NotAllowed(
                nxt["message"] if nxt else "no plan is assigned yet",
                next_allowed_at=nxt and nxt.get("next_allowed_at"),
            )
        # Engine first: it alone decides whether this armed session starts (the panel's
        # start may have won the race: then it is running already, which is the answer).
        # The record follows what the engine did; a refused start leaves it armed, never
        # a "stopped" session that did not run.
        try:
            self.link.call("start", {"session_id": current.id, "by": by[:60]})
        except StationError as exc:
            self.arming.note_refusal(exc, "start")
            raise
        self.recorder.mark_running(current.id, by)
        self._publish({"event": "session", "session_id": current.id, "state": "running"})
        return {"session_id": current.id}

    def pause(self, *, by: str) -> dict[str, Any]:
        """Outputs to zero, the program waits; recorded as paused by whom."""
        with self.engine.record:
            current = self.store.sessions.current()
            if current is None or current.state != "running":
                raise Conflict("nothing is running to pause")
            self.link.call("pause")
            self.store.sessions.set_state(current.id, "paused", "paused from the page", by)
        return {"paused": True}

    def resume(self, *, by: str) -> dict[str, Any]:
        with self.engine.record:
            current = self.store.sessions.current()
            if current is None or current.state != "paused":
                raise Conflict("nothing is paused to resume")
            self.link.call("resume")
            self.store.sessions.set_state(current.id, "running", "resumed from the page", by)
        return {"resumed": True}

    def reset_estop(self, *, by: str) -> dict[str, Any]:
        """Unlatch the e-stop (the engine refuses while the contact is still open)."""
        result = self.link.call("reset_estop")
        log.info("e-stop reset by %s", by)
        self.arming.arm_next(force=True)
        return {"reset": True, "engine": result}

    def stop(self, *, reason: str, by: str) -> dict[str, Any]:
        """Stop the engine first (outputs off), then record who stopped and why."""
        saved = True
        with self.engine.record:
            engine_reason = "too_much" if reason == "too_much" else "user"  # station.vocab
            result = self.link.call("stop", {"reason": engine_reason, "by": by})
            current = self.store.sessions.current()
            if current is not None and current.state in LIVE_ENGINE_STATES:
                if reason == "too_much" and by != "anonymous":  # the patient's: a rating
                    record_too_much(self.store, self.planner, self.recorder, current.id, by=by)
                saved = self.recorder.final(current.id, "stopped", reason, by)
        # The engine has stopped: that is the answer, whatever arming the next program
        # does (a plan that cannot run, an engine that refuses to arm) is logged, not
        # turned into a failed stop.
        try:
            self.arming.arm_next()
            self.arming.sync_indicator()
        except Exception:
            log.exception("arming after the stop by %s", by)
        return {"stopped": True, "engine": result} | ({} if saved else {"message": NOT_SAVED})

    def rate(
        self,
        value: int,
        *,
        by: str,
        pleasantness: int | None = None,
        lingering: bool | None = None,
        lingering_where: str | None = None,
    ) -> dict[str, Any]:
        """Store a rating (returns once it is on disk); one at or above the stop threshold
        while the session plays reaches the engine first and ends the session.

        What the rating is depends on when it comes: during a protocol's ``rate`` step it
        is that step's answer (an after-step rating, which progression counts); during a
        stimulus it is a live rating (it can stop the session; progression does not count
        it); after the session (the store allows the last rate step's answer for a grace
        window) it is the after-step rating it was late for, and the session's progression
        decision is taken again with it (``Planner.decide_after(revise=True)``)."""
        with self.engine.record:
            current = self.store.sessions.current()
            playing = current is not None and current.state in LIVE_ENGINE_STATES
            stopped = False
            step: int | None = None
            live = False
            if current is not None and playing:
                threshold = self.planner.stop_threshold(current.id)
                if threshold is not None and value >= threshold:
                    self.link.call("rate", {"value": value})  # the stop first, then the rest
                    stopped = True
                    step = self.recorder.step_playing(current.id)
                else:
                    step = self._engine_step(current.id)
                    self.arming.call_quiet("rate", {"value": value})
                sid = current.id
                step = step if self._step_kind(sid, step) else None
                live = self._step_kind(sid, step) != "rate"
            else:
                ended = [s.id for s in self.store.sessions.latest(limit=5, played=True)]
                if not ended:
                    raise Conflict("there is no session to rate yet; start one first")
                sid = ended[0]
            kept: dict[str, int] = {}

            def add() -> None:
                kept["id"] = self.store.ratings.add(
                    sid,
                    value,
                    step_index=step,
                    live=live,
                    pleasantness=pleasantness,
                    lingering=lingering,
                    lingering_where=lingering_where if lingering else None,
                    by=by[:200],
                )

            # A rating that stopped the engine is answered as the stop it was, whatever the
            # disk says (StorageFull): then it and the session's end wait in ``pending``.
            if not stopped:
                add()  # a full disk refuses it (503, StorageFull): nothing stopped, say so
                saved = True
            else:
                saved = self.recorder.pending.attempt(f"rating {value} of session {sid}", add)
                what = "live rating" if live else f"answer to rating step {step}:"
                end_saved = self.recorder.final(
                    sid, "stopped", f"{what} {value} at or above the stop threshold", by
                )
                saved = saved and end_saved
            moved = not playing and self.recorder.redecide(sid)
        if stopped or moved:
            try:  # the stop is the answer, whatever arming the next program does
                self.arming.arm_next(force=moved)  # a changed level re-arms the next session
            except StationError as exc:
                if not stopped:
                    raise
                log.warning("arming after the rating's stop: %s", exc)
        self._publish({"event": "rating", "session_id": sid, "value": value})
        out: dict[str, Any] = {
            "id": kept.get("id"),
            "session_id": sid,
            "value": value,
            "live": live,
            "stopped": stopped,
            "saved": saved,
        }
        if not saved:
            out["message"] = NOT_SAVED
        return out

    def _step_kind(self, sid: int, step: int | None) -> str | None:
        """The kind of step ``step`` of session ``sid``; None when there is no such step."""
        if step is None:
            return None
        try:
            return self.planner.step_of(sid, step).kind
        except StationError:
            return None

    def _engine_step(self, sid: int) -> int | None:
        """The step the engine plays now (asked, not remembered: a rating given the moment
        a rate step begins belongs to it); else the last step event's, if any."""
        try:
            step = (self.link.call("status", timeout=1.0) or {}).get("step")
        except StationError:
            step = None
        return step if isinstance(step, int) else self.recorder.step_playing(sid)
