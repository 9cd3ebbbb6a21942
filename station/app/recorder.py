"""Engine events -> the session record: what was delivered, never what was planned.

Why apart from the coordinator: recording is the part that must be exactly right for the
clinical record (each session ends once, progression is decided once, a paused or
resumed session says so, a step carries what the engine actually delivered), and it can
be driven with plain event dicts and a Store, without threads or an engine.
"""

from __future__ import annotations

import logging
from typing import Any

from station.app.pending import PendingWrites
from station.app.planner import Planner
from station.app.status_text import delivered
from station.errors import Conflict, NotFound, StationError, StorageFull
from station.storage import Store
from station.vocab import COMPLETED

log = logging.getLogger("station.app.recorder")

COMPLETED_REASONS = (COMPLETED,)  # the engine's one spelling (station.vocab)
# "Too much" pressed by nobody logged in (a passer-by, the open stop listener): it stops
# like any stop, but it is not the patient's rating, so progression must not count it
# (its words avoid "too_much" and "rating", which ``Planner.decide_after`` counts).
ANONYMOUS_TOO_MUCH = "too much pressed without a login (a stop, not counted for progression)"


class SessionRecorder:
    def __init__(self, *, store: Store, planner: Planner, pending: PendingWrites | None = None):
        self.store = store
        self.planner = planner
        # Ends and ratings the disk refused (full), written when it takes them again.
        self.pending = pending or PendingWrites()
        self._step: dict[int, int] = {}  # session -> the step the engine last started

    def record(self, kind: str | None, sid: int | None, event: dict[str, Any]) -> bool:
        """Record one engine event; True when it ended a session (so re-arm)."""
        if sid is None:
            return False
        if kind == "started":
            self.mark_running(sid, event.get("by"))
        elif kind == "state" and event.get("state") == "paused":
            self._mark_paused(sid, event.get("by"))
        elif kind == "state" and event.get("state") == "running":
            self.mark_running(sid, event.get("by"))
        elif kind == "step_started":
            self.mark_running(sid, event.get("by"))
            step = self.planner.step_of(sid, int(event["index"]))
            self._step = {sid: step.index}
            self.store.sessions.record_step(
                sid, step.index, step.kind, step.label, started_at=self.planner.now()
            )
        elif kind == "step_finished":
            step = self.planner.step_of(sid, int(event["index"]))
            self.store.sessions.record_step(
                sid,
                step.index,
                step.kind,
                step.label,
                started_at=self.planner.now(),
                finished_at=self.planner.now(),
                delivered=delivered(event.get("delivered")),
            )
        elif kind == "stopped":
            if self._never_started(sid):
                # A stop of an armed station ends nothing: the session did not happen, so
                # it gets no record of its own; arming arms the same session row again.
                return True
            reason = str(event.get("reason") or "stopped")
            state = "completed" if reason in COMPLETED_REASONS else "stopped"
            self.final(sid, state, reason, event.get("by") or "engine")
            return True
        elif kind == "rating" and event.get("confirmed") and event.get("value") is not None:
            self._panel_rating(sid, int(event["value"]))
        elif kind == "fault":
            device = event.get("device") or "a device"
            self.final(sid, "stopped", f"fault on {device}: {event.get('message', '')}", "engine")
        return False

    def _never_started(self, sid: int) -> bool:
        try:
            session = self.store.sessions.get(sid, full=False)
        except NotFound:
            return False
        return session.state == "armed" and session.started_at is None

    def step_playing(self, sid: int) -> int | None:
        """The step of ``sid`` the engine last reported starting (None: none yet)."""
        return self._step.get(sid)

    def _panel_rating(self, sid: int, value: int) -> None:
        """A rating confirmed on the device's own buttons: during a ``rate`` step that
        step's answer, during a stimulus a live rating, after the session an after-step
        rating that re-decides progression (the store decides whether it still may)."""
        try:
            session = self.store.sessions.get(sid, full=False)
            playing = session.state in ("running", "paused")
            step = self._step.get(sid) if playing else None
            answer = step is not None and self.planner.step_of(sid, step).kind == "rate"
            self.store.ratings.add(
                sid, value, step_index=step, live=playing and not answer, by="panel"
            )
            if not playing:
                self.redecide(sid)
        except StationError as exc:
            log.warning("panel rating %s for session %s not kept: %s", value, sid, exc)

    def redecide(self, sid: int) -> bool:
        """A rating came in after ``sid`` ended: take its progression decision again.
        True when that moved the plan's level (so the armed session is re-armed)."""
        try:
            before = self.store.plans.get()
            self.planner.decide_after(sid, revise=True)
            after = self.store.plans.get()
            return (before and before.levels) != (after and after.levels)
        except StationError as exc:  # a later session was decided already: it stands
            log.info("session %s: progression not revised: %s", sid, exc)
            return False

    def mark_running(self, sid: int, by: str | None) -> None:
        try:
            session = self.store.sessions.get(sid, full=False)
            if session.state == "armed":
                self.store.sessions.set_state(
                    sid, "running", "started", by or "panel", enforce_limits=False
                )
            elif session.state == "paused":
                self.store.sessions.set_state(sid, "running", "resumed", by or "panel")
        except (Conflict, NotFound):
            pass

    def _mark_paused(self, sid: int, by: str | None) -> None:
        try:
            session = self.store.sessions.get(sid, full=False)
            if session.state == "running":
                self.store.sessions.set_state(sid, "paused", "paused", by or "panel")
        except (Conflict, NotFound):
            pass

    def final(self, sid: int, state: str, reason: str, by: str | None) -> bool:
        """End a session in the record once (a later, duplicate report is ignored) and
        decide progression for it. True when that is on disk; False when the disk refused
        it: then it waits in ``pending`` (ahead of any later report) and is written, with
        this reason, when the disk takes writes again."""
        if reason == "too_much" and (by or "anonymous") == "anonymous":
            reason = ANONYMOUS_TOO_MUCH  # a stop for everyone; a rating only from the patient
        return self.pending.attempt(
            f"session {sid} {state} ({reason[:80]})", lambda: self._final(sid, state, reason, by)
        )

    def _final(self, sid: int, state: str, reason: str, by: str | None) -> None:
        try:
            session = self.store.sessions.get(sid, full=False)
        except NotFound:
            return
        if session.final:
            return
        if session.state == "armed" and state == "completed":
            state = "stopped"
        try:
            self.store.sessions.set_state(sid, state, reason[:200], (by or "")[:60] or None)
        except Conflict:
            return
        if session.state != "armed":
            try:
                self.planner.decide_after(sid)
            except StorageFull:  # the end is on disk; its decision follows it
                self.pending.defer(
                    f"session {sid}: progression decision", lambda: self.planner.decide_after(sid)
                )
