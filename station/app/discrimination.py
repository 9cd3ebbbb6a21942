"""Discrimination training in the app (issue 16): answers, misses, the page's view.

Why its own concept: the engine plays a ``discriminate`` step as plain vibration and
knows nothing of answers; the app knows which trial plays (the engine's program time
against the trials in the compiled program), records the patient's answer, counts a
trial whose answer window closed unanswered as missed, and keeps every answer out of
what the page can read while it matters: ``/api/status``'s step (``public_step`` in
``station.app.status_text``), a live session's program in ``GET /api/sessions``, and no
event that names a trial's site while it plays (the engine's ``step_finished`` lists the
step's actuators only after every answer window has closed).

Misses are recorded when the engine reports the step finished, when the session stops
(the trials whose window closed before the stop) and before each answer. After a session
the patient's ``settings.discrimination`` is moved on: one more session (a new sequence
next time) and the adaptive moves the clinician's rule earned, then the next session is
armed again with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from station.app.engine_link import EngineLink
from station.app.planner import Planner
from station.app.status_text import engine_fields
from station.errors import Conflict, InvalidInput, NotFound, StationError
from station.program import Program, ProgramStep
from station.program_trials import DiscriminationPlan, public_step
from station.storage import Store
from station.storage.discrimination import discrimination_of, score

log = logging.getLogger("station.app.discrimination")

LIVE = ("running", "paused")


class DiscriminationDesk:
    def __init__(
        self, *, store: Store, planner: Planner, link: EngineLink, rearm: Callable[[], object]
    ) -> None:
        self.store = store
        self.planner = planner
        self.link = link
        self._rearm = rearm  # arms the next session again (the plan moved on)

    # -- the patient's answer -------------------------------------------------------------

    def answer(self, *, site: str, probe: str | None, by: str) -> dict[str, Any]:
        """Record the answer for the trial playing now or in its answer window."""
        current = self.store.sessions.current()
        if current is None or current.state not in LIVE:
            raise Conflict("no session is running; start one with a discrimination step first")
        status = self.link.call("status", timeout=1.0)
        fields = engine_fields(status)
        t_ms = float(status.get("program_ms") or 0.0)
        idx = fields.get("step_index")
        if fields.get("session_id") != current.id or not isinstance(idx, int):
            raise Conflict("the engine is not playing this session; wait for it to start")
        step = self.planner.step_of(current.id, idx)
        plan = step.discrimination
        if plan is None:
            raise Conflict(
                f"step {idx + 1} is a {step.kind} step, not a discrimination step; "
                "answer while the 'which spot' step plays"
            )
        self._close(current.id, step, plan, t_ms)
        names = [c.site for c in plan.choices]
        if site not in names:
            raise InvalidInput(
                "site",
                site,
                names,
                f"site = {site!r} is not one of this step's "
                f"sites; answer with one of {', '.join(names)}",
            )
        if plan.probes and probe not in plan.probes:
            raise InvalidInput(
                "probe",
                probe,
                list(plan.probes),
                f"probe = {probe!r}: this "
                f"step asks which probe too; one of {', '.join(plan.probes)}",
            )
        if not plan.probes and probe is not None:
            raise InvalidInput("probe", probe, None, "this step has no probes; send only site")
        trial = plan.trial_at(t_ms)
        if trial is None:
            raise Conflict(
                "no stimulus is waiting for an answer now; answer after the next "
                "one starts (until its answer time runs out)"
            )
        correct = site == trial.site and (not plan.probes or probe == trial.probe)
        discrimination_of(self.store).answer(
            session_id=current.id,
            step_index=idx,
            block=trial.block,
            trial_index=trial.index,
            site=trial.site,
            probe=trial.probe,
            answered_site=site,
            answered_probe=probe,
            correct=correct,
        )
        out: dict[str, Any] = {
            "recorded": True,
            "session_id": current.id,
            "trial": trial.index,
            "block": trial.block,
            "feedback": plan.feedback,
        }
        if plan.feedback:
            out.update(correct=correct, right_site=trial.site, right_probe=trial.probe)
        log.info("session %s trial %s answered by %s", current.id, trial.index, by)
        return out

    def _close(self, sid: int, step: ProgramStep, plan: DiscriminationPlan, t_ms: float) -> int:
        """Record as missed every trial of ``step`` whose window closed by ``t_ms``."""
        repo, n = discrimination_of(self.store), 0
        for t in plan.closed_by(t_ms):
            n += repo.miss(
                session_id=sid,
                step_index=step.index,
                block=t.block,
                trial_index=t.index,
                site=t.site,
                probe=t.probe,
            )
        return n

    # -- engine events ----------------------------------------------------------------------

    def publisher(
        self, inner: Callable[[dict[str, Any]], None]
    ) -> Callable[[dict[str, Any]], None]:
        """``inner`` after this desk has seen the event (misses, progress)."""

        def publish(event: dict[str, Any]) -> None:
            try:
                self.on_event(event)
            except StationError as exc:
                log.warning("discrimination: %s: %s", event.get("event"), exc)
            inner(event)

        return publish

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        sid = engine_fields(event).get("session_id")
        if not isinstance(sid, int) or kind not in ("step_finished", "stopped"):
            return
        try:
            program = self.planner.program_of(sid)
        except (NotFound, StationError):
            return
        if kind == "step_finished" and isinstance(event.get("index"), int):
            step = program.steps[event["index"]]
            if step.discrimination is not None:
                self._close(sid, step, step.discrimination, float("inf"))
        elif kind == "stopped":
            t_ms = float(event.get("program_ms") or 0.0)
            for step in program.steps:
                if step.discrimination is not None and step.start_ms <= t_ms:
                    self._close(sid, step, step.discrimination, t_ms)
            if self._advance(sid, program):
                self._rearm()

    def _advance(self, sid: int, program: Program) -> bool:
        """Move the patient's discrimination progress on after session ``sid`` (once)."""
        plans = [s.discrimination for s in program.steps if s.discrimination is not None]
        trials = discrimination_of(self.store).of_session(sid)
        plan = self.store.plans.get()
        if not plans or not trials or plan is None:
            return False
        progress = dict(plan.settings.get("discrimination") or {})
        if progress.get("last_session") == sid:
            return False
        earned = 0
        for p in plans:
            if p.advance_at_percent is None:
                continue
            for b in range(p.blocks):
                rows = [r for r in trials if r.block == b]
                if len(rows) == p.stimuli_per_block:  # a whole block was played
                    pct = 100 * sum(r.correct for r in rows) / len(rows)
                    earned += pct >= p.advance_at_percent
        progress.update(
            sessions=int(progress.get("sessions", 0)) + 1,
            last_session=sid,
            closer_steps=int(progress.get("closer_steps", 0)) + earned,
        )
        self.store.plans.set(
            plan.protocol_id,
            plan.protocol_version,
            settings={**plan.settings, "discrimination": progress},
            reason=f"discrimination progress after session {sid}",
        )
        return True

    # -- what the page reads ------------------------------------------------------------------

    def status_extras(self, status: dict[str, Any], *, current: Any) -> dict[str, Any]:
        """``discrimination`` for ``/api/status``: the open trial (never its site), whether
        it is answered, and the score so far (None outside a discrimination step)."""
        step = status.get("step") or {}
        if current is None or step.get("kind") != "discriminate":
            return {"discrimination": None}
        plan = step.get("discrimination") or {}
        t_ms = float(status.get("elapsed_ms") or 0)
        rows = [
            r
            for r in discrimination_of(self.store).of_session(current.id)
            if r.step_index == step.get("index")
        ]
        done = {r.trial_index for r in rows}
        open_trial = next(
            (t for t in plan.get("trials", []) if t["start_ms"] <= t_ms < t["answer_end_ms"]), None
        )
        summary = score(rows)
        return {
            "discrimination": {
                "open_trial": None
                if open_trial is None
                else {
                    "index": open_trial["index"],
                    "block": open_trial["block"],
                    "answered": open_trial["index"] in done,
                },
                "choices": plan.get("choices", []),
                "probes": plan.get("probes", []),
                "feedback": plan.get("feedback", True),
                "trials_total": len(plan.get("trials", [])),
                "so_far": {k: summary[k] for k in ("trials", "correct", "missed")},
            }
        }

    def session_view(self, session: dict[str, Any]) -> dict[str, Any]:
        """A session as ``GET /api/sessions/<id>`` answers it: with its ``discrimination``
        score, and while it is not over, its program without any trial's site."""
        sid = session.get("id")
        if isinstance(sid, int):
            s = score(discrimination_of(self.store).of_session(sid))
            session["discrimination"] = {
                k: s[k] for k in ("trials", "correct", "missed", "percent", "by_site", "by_block")
            }
        return hide_answers(session)


def hide_answers(session: dict[str, Any]) -> dict[str, Any]:
    """A session dict whose program hides the trials' sites while it is not over."""
    program = session.get("program")
    if session.get("state") not in ("armed", *LIVE) or not isinstance(program, dict):
        return session
    try:
        parsed = Program.model_validate(program)
    except ValueError:
        return session
    if all(s.discrimination is None for s in parsed.steps):
        return session
    hidden = {**program, "steps": [public_step(s) for s in parsed.steps]}
    return {**session, "program": hidden}
