"""From the patient's plan to the next program: protocol, level, caps, settings, limits.

Why apart from the coordinator: this is the part with no threads and no engine; it turns
the stored plan into a compiled ``Program`` (through the protocol library and compiler),
checks the protocol's session limits, applies the clinician's caps and the patient's
settings (three layers of limits), and records progression decisions. Everything here
can be tested with a Store alone.

Clinician caps set on the page are kept in the plan's settings under ``clinician_caps``
and can only tighten the protocol's own caps (layer 2 stays bounded by what the protocol
file says; the device limits in the wiring bound both).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from station.app import intake
from station.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    Problem,
    problems_from_validation,
)
from station.i18n import _
from station.program import Program, ProgramStep
from station.protocols import library
from station.protocols.compiler import compile_program, ordered_levels
from station.protocols.model import Protocol, with_caps
from station.protocols.progression import SessionResult, decide
from station.protocols.settings import PatientSettings, check_settings
from station.storage import Store
from station.storage.limits import local
from station.storage.models import DecisionRecord
from station.wiring import WiringConfig, load_wiring

DEMO_PROTOCOL = "vibration-ladder"
CAPS_KEY = "clinician_caps"


class Planner:
    """Stateless over the Store and the library, except a small cache of programs."""

    def __init__(
        self,
        *,
        data_dir: Path,
        store: Store,
        config_path: str | Path | None = None,
        clock: Callable[[], datetime] | None = None,
        wiring: WiringConfig | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.store = store
        self.wiring = wiring or load_wiring(Path(config_path) if config_path else None)
        self._clock = clock
        self._programs: dict[int, Program] = {}

    def now(self) -> datetime:
        return self._clock() if self._clock else self.store.now()

    # -- the plan ---------------------------------------------------------------------------

    def seed_demo(self) -> None:
        """A fresh simulator station gets the built-in vibration ladder at its first level
        so that the page has something to play; a real station waits for the clinician."""
        if self.store.plans.get() is not None:
            return
        result = library.import_file(
            self.data_dir,
            next(p for p in library.builtin_paths() if p.stem == DEMO_PROTOCOL),
            wiring=self.wiring,
        )
        protocol = library.get_protocol(self.data_dir, result.id, result.version)
        self.store.plans.set(
            protocol.id,
            protocol.version,
            levels={protocol.ladders[0].name: 0},
            reason="demo plan (simulator, fresh data directory)",
        )

    def protocol(self) -> Protocol | None:
        plan = self.store.plans.get()
        if plan is None:
            return None
        return library.get_protocol(self.data_dir, plan.protocol_id, plan.protocol_version)

    def caps_override(self) -> dict[str, Any]:
        plan = self.store.plans.get()
        return dict((plan.settings if plan else {}).get(CAPS_KEY) or {})

    def effective(self, protocol: Protocol) -> Protocol:
        """The protocol with the clinician's page caps applied (each only tightens)."""
        return with_caps(protocol, self.caps_override())

    def settings(self) -> PatientSettings:
        plan = self.store.plans.get()
        raw = {k: v for k, v in (plan.settings if plan else {}).items() if k != CAPS_KEY}
        try:
            return PatientSettings.model_validate(raw)
        except ValidationError:
            return PatientSettings()

    def check_plan(
        self, protocol: Protocol, levels: dict[str, int], settings: dict[str, Any]
    ) -> None:
        """Everything a plan, caps or settings change must pass BEFORE anything is written:
        the clinician's caps against the protocol, the patient's settings (ranking,
        thresholds, speed, reminders) against those caps and the device limits, and every
        ladder of the plan compiled at its level on this station's wiring (a ranked ladder
        without the patient's ranking, a stroke the brush cannot play, a level over the
        session cap, ...). Raises ``ConfigError`` naming what to change; returns nothing
        when the candidate plan would run, so the caller writes it whole or not at all."""
        try:
            effective = with_caps(protocol, dict(settings.get(CAPS_KEY) or {}))
        except ValidationError as exc:
            raise ConfigError("caps", problems_from_validation(exc)) from None
        raw = {k: v for k, v in settings.items() if k != CAPS_KEY}
        try:
            patient = PatientSettings.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError("settings", problems_from_validation(exc, raw)) from None
        problems = check_settings(effective, patient, self.wiring)
        if problems:
            raise ConfigError(
                "settings",
                [
                    Problem(p.path, f"{p.message}; change the patient's setting first "
                            "(Settings page) or choose a looser cap", p.value, p.has_value)
                    for p in problems
                ],
            )  # fmt: skip
        names = [lad.name for lad in protocol.ladders if lad.name in levels]
        for name in names or [protocol.ladders[0].name]:
            if intake.needs(effective, patient, name):
                continue  # compiled (and checked) when its ranking or threshold is recorded
            count = len(protocol.ladder(name).levels)
            compile_program(effective, level=min(int(levels.get(name, 0)), count - 1),
                            wiring=self.wiring, settings=patient, ladder=name)  # fmt: skip

    def ladder_and_level(
        self, protocol: Protocol, *, ready: list[str] | None = None
    ) -> tuple[str, int]:
        """The ladder to play next: the plan's ladder whose last session is oldest. Only
        sessions that started count: the armed one (or one disarmed unplayed) is not a
        session played, or the "next" shown while it waits would name the other ladder.
        ``ready``: the ladders whose intake is done (``station.app.intake``); one still
        waiting is chosen only when no ladder is ready."""
        plan = self.store.plans.get()
        levels = plan.levels if plan else {}
        names = [lad.name for lad in protocol.ladders if lad.name in levels] or [
            protocol.ladders[0].name
        ]
        if ready is not None and any(n in ready for n in names):
            names = [n for n in names if n in ready]
        last: dict[str, int] = {}
        for s in self.store.sessions.latest(limit=50):
            if s.started_at is not None:
                last.setdefault(s.ladder, s.id)
        ladder = min(names, key=lambda n: (last.get(n, 0), names.index(n)))
        return ladder, int(levels.get(ladder, 0))

    def next_program(self) -> dict[str, Any] | None:
        """What the next session will be and whether it may start now (with why not)."""
        base = self.protocol()
        if base is None:
            return None
        protocol = self.effective(base)
        settings = self.settings()
        waiting = {
            lad.name: intake.needs(protocol, settings, lad.name) for lad in protocol.ladders
        }
        ladder, index = self.ladder_and_level(
            protocol, ready=[name for name, need in waiting.items() if not need]
        )
        if waiting.get(ladder):
            pending = waiting[ladder]
            return {
                "allowed": False,
                "message": intake.message(pending),
                "protocol_id": protocol.id,
                "protocol_name": protocol.name,
                "version": protocol.version,
                "ladder": ladder,
                "intake": [{"kind": n.kind, "name": n.name, "text": n.text} for n in pending],
            }
        lad = protocol.ladder(ladder)
        levels = ordered_levels(protocol, lad, settings.rankings.get(ladder))
        index = min(index, len(levels) - 1)
        program = compile_program(
            protocol, level=index, wiring=self.wiring, settings=settings, ladder=ladder
        )
        check = self.store.sessions.check_limits(
            sessions_per_day=protocol.caps.sessions_per_day,
            min_gap_minutes=round(protocol.caps.min_minutes_between_sessions),
            now=self.now(),
        )
        level = levels[index]
        return {
            "protocol": protocol,
            "program": program,
            "protocol_id": protocol.id,
            "protocol_name": protocol.name,
            "version": protocol.version,
            "ladder": ladder,
            "level": level.name,
            "level_index": index,
            "level_count": len(levels),
            "description": level.description or lad.description or protocol.patient_notes or "",
            "duration_ms": program.duration_ms,
            "allowed": check.allowed,
            "message": _("You can start now.") if check.allowed else check.message,
            "next_allowed_at": check.next_allowed_at,
            "done_today": check.done_today,
            "sessions_per_day": protocol.caps.sessions_per_day,
        }

    def create_session(self, nxt: dict[str, Any]) -> int:
        program: Program = nxt["program"]
        protocol: Protocol = nxt["protocol"]
        sid = self.store.sessions.create(
            program.protocol_id,
            program.protocol_version,
            program.protocol_hash,
            program.level_index,
            program.model_dump(mode="json"),
            len(program.steps),
            ladder=nxt["ladder"],
            level_name=program.level,
            sessions_per_day=protocol.caps.sessions_per_day,
            min_gap_minutes=round(protocol.caps.min_minutes_between_sessions),
        )
        self._programs[sid] = program
        return sid

    def program_of(self, sid: int) -> Program:
        if sid not in self._programs:
            session = self.store.sessions.get(sid)
            self._programs[sid] = Program.model_validate(session.program)
        return self._programs[sid]

    def step_of(self, sid: int, index: int) -> ProgramStep:
        steps = self.program_of(sid).steps
        if not 0 <= index < len(steps):
            raise InvalidInput("step_index", index, f"0..{len(steps) - 1}")
        return steps[index]

    def stop_threshold(self, sid: int) -> int | None:
        return self.program_of(sid).stop_threshold

    # -- progression --------------------------------------------------------------------------

    def decide_after(self, sid: int, *, revise: bool = False) -> DecisionRecord | None:
        """Record the progression decision for a session that ran and ended; ``revise``:
        take it again because a rating came in after the end (``store.progress.
        revise_decision``: refused once a later session on the ladder was decided)."""
        session = self.store.sessions.get(sid, full=False)
        if session.started_at is None:
            return None
        try:
            protocol = library.get_protocol(
                self.data_dir, session.protocol_id, session.protocol_version
            )
            rule = protocol.progression_for(session.ladder)
            lad = protocol.ladder(session.ladder)
        except (NotFound, KeyError, ConfigError):
            return None
        history = [
            SessionResult(
                # In the station's zone: advance_min_days counts the patient's days.
                at=local(h["ended_at"] or self.now(), self.store.tz),
                level_index=h["level"],
                completed=h["completed"],
                ratings=tuple(h["ratings"]),
                stopped_by_rating=bool(
                    h["end_reason"]
                    and ("rating" in h["end_reason"] or "too_much" in h["end_reason"])
                ),
            )
            for h in self.store.progress.history(ladder=session.ladder, limit=200)
        ]
        d = decide(
            rule,
            history,
            current_level=min(session.level, len(lad.levels) - 1),
            level_count=len(lad.levels),
        )
        progress = self.store.progress
        record = progress.revise_decision if revise else progress.record_decision
        return record(sid, d.action, d.from_level, d.to_level, d.reason)

    # -- changes from the page ----------------------------------------------------------------

    def find_level(self, protocol: Protocol, key: str) -> tuple[str, int]:
        """``ladder/index``, a level id or a level name -> (ladder, index)."""
        if "/" in key:
            ladder, _, idx = key.partition("/")
            if idx.isdigit():
                try:
                    if int(idx) < len(protocol.ladder(ladder).levels):
                        return ladder, int(idx)
                except KeyError:
                    pass
        for lad in protocol.ladders:
            for i, lv in enumerate(lad.levels):
                if key in (lv.id, lv.name):
                    return lad.name, i
        allowed = [f"{lad.name}/{i}" for lad in protocol.ladders for i in range(len(lad.levels))]
        raise InvalidInput("level", key, allowed)

    def limits(self) -> tuple[int | None, timedelta | None]:
        protocol = self.protocol()
        if protocol is None:
            return None, None
        caps = self.effective(protocol).caps
        return caps.sessions_per_day, timedelta(minutes=caps.min_minutes_between_sessions)
