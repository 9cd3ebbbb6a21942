"""Guided steps as a patient needs them: what to ask, what to prepare, when a step ends.

Why its own concept: the page must ask what the *step* asks (discomfort always;
pleasantness and lingering only when the protocol's rate step says so), say before Start
what to have ready (the manual steps' materials), where (the body site), the protocol's
notes for the patient and when to stop, and let a manual step end early ("it feels
numb"). All of it comes from the protocol and the compiled program, never from the page.

* ``questions``: the status's questions for the step playing now;
* ``before_start``: the next session's guide, with the calm-place note before the first
  session of the day (the app's clock, which may be the simulated one);
* ``StepGuide``: adds both to the status, puts the questions on ``step_started`` events
  for the page, ends a step through the engine's ``end_step`` (an answered rate step, or
  the patient's "enough" on a manual step, written to the session's transitions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from station.app.engine_link import EngineLink
from station.app.engine_view import EngineView
from station.app.planner import Planner
from station.errors import Conflict, InvalidInput, StationError
from station.i18n import N_, _
from station.protocols import library
from station.protocols.model import Level, ManualStep, Protocol
from station.storage import Store
from station.storage.step_notes import note_step_end

log = logging.getLogger("station.app.guided")

LIVE = ("running", "paused")
LIVE_PROMPT = N_("How uncomfortable is it right now, from 0 (none) to 10 (worst)?")
CALM_PLACE = N_(
    "Before the first session today: sit comfortably and think of a calm place, somewhere "
    "you feel safe and at ease. Breathe in slowly through your nose and out through your "
    "mouth, three or four times. Keep breathing slowly while the session runs."
)
# what the patient says when ending a manual step early -> what the record says
END_WHY: dict[str, str] = {"numb": "it feels numb", "enough": "enough"}
EndWhy = Literal["numb", "enough"]


def questions(step: dict[str, Any] | None, *, live: bool, answered: bool) -> dict[str, Any]:
    """What the rating card asks now. During a ``rate`` step: exactly that step's
    questions (the answer ends the step); during any other step: a live discomfort
    rating (it can stop the session). Outside a session: discomfort only."""
    rating = step.get("rating") if step and step.get("kind") == "rate" and live else None
    if rating:
        return {
            "answer": True,
            "step_index": step["index"] if step else None,
            "discomfort": True,
            "pleasantness": bool(rating.get("pleasantness")),
            "lingering": bool(rating.get("lingering")),
            "prompt": rating.get("prompt") or "",
            "answered": answered,
        }
    return {
        "answer": False,
        "step_index": step["index"] if step and live else None,
        "discomfort": True,
        "pleasantness": False,
        "lingering": False,
        "prompt": _(LIVE_PROMPT) if live else "",
        "answered": False,
    }


def stop_text(threshold: int | None) -> str | None:
    """The program stops itself at a rating of ``threshold`` or more (``Program``)."""
    if threshold is None:
        return None
    return _(
        'Stop when it goes above %(below)s/10: press STOP or "Too much". A rating of '
        "%(threshold)s or more stops the station at once.",
        below=threshold - 1, threshold=threshold,
    )  # fmt: skip


def level_of(protocol: Protocol, ladder: str, level_name: str | None) -> Level | None:
    try:
        lad = protocol.ladder(ladder)
    except KeyError:
        return None
    return next((lv for lv in lad.levels if lv.name == level_name), None)


def site_text(sites: list[str]) -> str:
    return ", ".join(s.replace("-", " ").replace("_", " ") for s in sites)


def before_start(nxt: dict[str, Any], *, first_today: bool) -> dict[str, Any] | None:
    """The guide the page shows before Start, from the next session's protocol and
    compiled program: materials (the manual steps, in order, each once), the protocol's
    notes for the patient, the body sites, the stop threshold and the calm-place note."""
    protocol, program = nxt.get("protocol"), nxt.get("program")
    if not isinstance(protocol, Protocol) or program is None:
        return None
    level = level_of(protocol, nxt.get("ladder") or "", nxt.get("level"))
    steps = list(level.steps) if level is not None else []
    materials: list[dict[str, str]] = []
    for st in steps:
        if isinstance(st, ManualStep):
            name = st.label or _("Guided step")
            if all(m["name"] != name for m in materials):
                materials.append({"name": name, "instruction": st.instruction})
    sites = list(dict.fromkeys(st.site for st in steps if st.site)) or list(protocol.body_sites)
    notes = (protocol.patient_notes or "").strip() or None
    return {
        "materials": materials,
        "notes": notes,
        "sites": sites,
        "site_text": site_text(sites),
        "stop_threshold": program.stop_threshold,
        "stop_text": stop_text(program.stop_threshold),
        "calm_place": _(CALM_PLACE) if first_today else None,
    }


class StepGuide:
    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        link: EngineLink,
        engine: EngineView,
        publish: Callable[[dict[str, Any]], None],
    ):
        self.store = store
        self.planner = planner
        self.link = link
        self.engine = engine
        self._publish = publish
        self._levels: dict[tuple[str, str, str, str | None], Level | None] = {}

    # -- what the page is told ------------------------------------------------------------

    def status_extras(
        self, status: dict[str, Any], *, current: Any, nxt: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Fields added to the status: ``questions``, ``site`` (the step's body site),
        ``stop_text`` and, when no session plays, ``guide`` (``before_start``)."""
        live = current is not None and current.state in LIVE
        step = status.get("step") if live else None
        answered = False
        if step is not None and step.get("kind") == "rate":
            answered = any(
                r.step_index == step["index"] and not r.live for r in current.ratings
            )
        out: dict[str, Any] = {
            "questions": questions(step, live=live, answered=answered),
            "site": self._site(current, step["index"]) if step is not None else None,
            "stop_text": stop_text(status.get("stop_threshold")),
            "guide": None,
        }
        if not live and nxt is not None and "error" not in nxt:
            out["guide"] = before_start(nxt, first_today=nxt.get("done_today") == 0)
        return out

    def _site(self, current: Any, index: int) -> str | None:
        key = (current.protocol_id, current.protocol_version, current.ladder, current.level_name)
        if key not in self._levels:
            try:
                protocol = library.get_protocol(self.planner.data_dir, key[0], key[1])
                self._levels[key] = level_of(protocol, key[2], key[3])
            except StationError:
                self._levels[key] = None
        level = self._levels[key]
        if level is None or not 0 <= index < len(level.steps):
            return None
        site = level.steps[index].site
        return site_text([site]) if site else None

    def publisher(
        self, publish: Callable[[dict[str, Any]], None]
    ) -> Callable[[dict[str, Any]], None]:
        """``publish`` with the step's questions added to each ``step_started`` event,
        and a rating confirmed on the panel during a rate step taken as its answer (the
        record has it already: the recorder ran before the event is published)."""

        def out(event: dict[str, Any]) -> None:
            kind, sid = event.get("event"), event.get("session_id")
            if kind == "step_started" and isinstance(event.get("index"), int):
                event = {**event, "questions": self._questions_of(sid, event["index"])}
            publish(event)
            if kind == "rating" and event.get("confirmed") and event.get("by") == "panel":
                self._panel_answer(sid)

        return out

    def _questions_of(self, sid: Any, index: int) -> dict[str, Any] | None:
        try:
            step = self.planner.step_of(int(sid), index).model_dump(mode="json")
        except (StationError, TypeError, ValueError):
            return None
        return questions(step, live=True, answered=False)

    def _panel_answer(self, sid: Any) -> None:
        current = self.store.sessions.current()
        if current is None or current.id != sid or current.state not in LIVE:
            return
        step = self._engine_step()
        answers = [r for r in current.ratings if not r.live and r.step_index == step]
        if step is not None and answers:
            self.answered(answers[-1].id, by="panel")

    def _engine_step(self) -> int | None:
        try:
            step = (self.link.call("status", timeout=1.0) or {}).get("step")
        except StationError:
            return None
        return step if isinstance(step, int) else None

    # -- ending a step ----------------------------------------------------------------------

    def answered(self, rating_id: int, *, by: str) -> None:
        """Rating ``rating_id`` is on disk: when it answers a rate step of the session
        playing now, that step ends (the engine moves on; a paused session stays paused
        until resumed). A step that has already moved on is fine: it ended anyway."""
        try:
            rating = self.store.ratings.get(rating_id)
            sid, index = rating.session_id, rating.step_index
            current = self.store.sessions.current()
            if rating.live or index is None or current is None or current.id != sid:
                return
            if current.state not in LIVE or self.planner.step_of(sid, index).kind != "rate":
                return
            self.link.call("end_step", {"index": index, "reason": "answered", "by": by[:60]})
        except StationError as exc:
            log.info("session %s: rate step %s not ended on its answer: %s", sid, index, exc)

    def end_early(self, index: int, *, why: EndWhy, by: str) -> dict[str, Any]:
        """The patient's "End this step" on a manual step: the engine ends it (refused,
        with the reason, for a stimulus step or a step that is not playing), then the
        session's transitions say which step, why and who."""
        with self.engine.record:
            current = self.store.sessions.current()
            if current is None or current.state not in LIVE:
                raise Conflict("no session is playing; there is no step to end")
            steps = self.planner.program_of(current.id).steps
            if not 0 <= index < len(steps):
                allowed = f"0..{len(steps) - 1}"
                msg = f"index = {index}: session {current.id} has steps {allowed}"
                raise InvalidInput("index", index, allowed, msg)
            step = steps[index]
            if step.kind != "manual":
                raise Conflict(
                    f"step {index} is a {step.kind} step; only a guided (manual) step can be "
                    "ended early (a rate step ends when answered; to end a stimulus, stop)"
                )
            result = self.link.call(
                "end_step", {"index": index, "reason": "enough", "by": by[:60]}
            )
            reason = f"step {index + 1} '{step.label}' ended early: {END_WHY[why]}"
            note_step_end(self.store.db, current.id, patient_id=self.store.patient_id,
                          reason=reason, by=by)  # fmt: skip
        self._publish({"event": "step_ended", "session_id": current.id, "index": index,
                       "reason": END_WHY[why], "by": by})  # fmt: skip
        return {"session_id": current.id, "ended": index, "reason": END_WHY[why],
                "skipped_ms": result.get("skipped_ms", 0)}  # fmt: skip
