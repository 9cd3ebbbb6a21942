"""Changing the plan: assign a protocol, set the clinician's caps, the patient's settings.

Why apart from the planner: the planner says what plays next and decides progression;
this is the write side, and its one hard rule is *no lost update*. A change is computed
from the plan as read, checked whole (``Planner.check_plan``: caps, settings, every ready
ladder compiled) and written with the revision it was computed from
(``store.plans.set(expected_revision=...)``). When another change landed in between (a
clinician's cap and a patient's setting saved at the same moment), the write is refused
inside its transaction and the change is computed again from the new plan, so it applies
on top of the other one instead of undoing it. A caller that sends the revision it
showed the user (``revision=``) gets the refusal instead (409, what changed): the user
decided on a plan that is no longer the one in force.

Caps win over the patient's settings: a tighter cap re-clamps the settings it bounds (the
brushing speed, the number of reminders) in the same write, and the answer says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from station.app.planner import CAPS_KEY, Planner
from station.errors import ConfigError, InvalidInput, StalePlan, problems_from_validation
from station.protocols import library
from station.protocols.model import TIGHTER_IS_HIGHER, Caps, Protocol
from station.protocols.settings import PatientSettings, check_settings
from station.storage.models import Plan

RETRIES = 20  # concurrent writers each get through; a livelock would need 20 in a row

Change = Callable[[Plan | None], dict[str, Any]]


def write(planner: Planner, change: Change, *, revision: int | None = None) -> dict[str, Any]:
    """Compute ``change`` from the plan as stored and write it in one transaction, again
    from the newer plan when another write came first. ``change(plan)`` returns the
    keyword arguments of ``store.plans.set`` (validated already) plus ``"result"``."""
    for _ in range(RETRIES):
        plan = planner.store.plans.get()
        current = plan.revision if plan is not None else None
        if revision is not None and revision != current:
            raise StalePlan(
                expected=revision,
                current=current,
                changed_at=plan.updated_at.isoformat() if plan is not None else None,
            )
        kwargs = change(plan)
        result = kwargs.pop("result")
        try:
            planner.store.plans.set(**kwargs, expected_revision=current)
        except StalePlan:
            if revision is not None:
                raise
            continue
        return result
    raise StalePlan(expected=None, current=None, changed_at="continually")


def assign(
    planner: Planner,
    protocol_id: str,
    level: str,
    *,
    by: str,
    revision: int | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """``version``: the library's version to assign (None: the newest)."""
    protocol = library.get_protocol(planner.data_dir, protocol_id, version or None)
    ladder, index = planner.find_level(protocol, level)

    def change(plan: Plan | None) -> dict[str, Any]:
        levels = {lad.name: 0 for lad in protocol.ladders}
        if plan and plan.protocol_id == protocol.id:
            levels.update({k: v for k, v in plan.levels.items() if k in levels})
        levels[ladder] = index
        # Validated as a whole before anything is written: a refused assignment leaves
        # the plan (and the Today page, and arming) exactly as they were.
        planner.check_plan(protocol, levels, dict(plan.settings) if plan else {})
        return {
            "protocol_id": protocol.id,
            "protocol_version": protocol.version,
            "levels": levels,
            "reason": f"assigned by {by}",
            "result": {
                "protocol_id": protocol.id,
                "version": protocol.version,
                "ladder": ladder,
                "level_index": index,
            },
        }

    return write(planner, change, revision=revision)


def set_caps(
    planner: Planner, changes: dict[str, Any], *, by: str, revision: int | None = None
) -> dict[str, Any]:
    fields = Caps.model_fields

    def change(plan: Plan | None) -> dict[str, Any]:
        protocol = planner.protocol()
        if plan is None or protocol is None:
            raise InvalidInput("protocol", None, "an assigned plan", "assign a protocol first")
        over = dict(plan.settings.get(CAPS_KEY) or {})
        for key, value in changes.items():
            if key not in fields:
                raise InvalidInput(key, value, sorted(fields))
            value = cap_number(key, value, whole=fields[key].annotation is int)
            mine = getattr(protocol.caps, key)
            tighter_ok = value >= mine if key in TIGHTER_IS_HIGHER else value <= mine
            if not tighter_ok:
                word = "at least" if key in TIGHTER_IS_HIGHER else "at most"
                raise InvalidInput(key, value, f"{word} {mine:g} (the protocol's own cap)")
            over[key] = value
        try:
            caps = Caps.model_validate({**protocol.caps.model_dump(), **over})
        except ValidationError as exc:
            raise ConfigError("caps", problems_from_validation(exc)) from None
        settings, clamped = reclamp({**plan.settings, CAPS_KEY: over}, caps)
        planner.check_plan(protocol, dict(plan.levels), settings)  # before anything is written
        return {
            "protocol_id": plan.protocol_id,
            "protocol_version": plan.protocol_version,
            "settings": settings,
            "reason": f"caps set by {by}" + (f" ({'; '.join(clamped)})" if clamped else ""),
            "result": {"caps": caps.model_dump(), "clamped": clamped},
        }

    return write(planner, change, revision=revision)


def reclamp(settings: dict[str, Any], caps: Caps) -> tuple[dict[str, Any], list[str]]:
    """The patient's settings brought within ``caps`` (the clinician's limit wins), and
    what was changed, in words."""
    out, said = dict(settings), []
    speed = out.get("brush_speed_cm_s")
    if isinstance(speed, (int, float)) and speed > caps.max_brush_speed_cm_s:
        out["brush_speed_cm_s"] = caps.max_brush_speed_cm_s
        said.append(
            f"the patient's brushing speed {speed:g} cm/s lowered to the cap "
            f"{caps.max_brush_speed_cm_s:g} cm/s"
        )
    times = out.get("reminder_times")
    if isinstance(times, list) and len(times) > caps.sessions_per_day:
        out["reminder_times"] = sorted(times)[: caps.sessions_per_day]
        said.append(
            f"reminders cut to the first {caps.sessions_per_day} of the day "
            f"({', '.join(out['reminder_times'])})"
        )
    return out, said


def update_settings(
    planner: Planner, changes: dict[str, Any], *, by: str, revision: int | None = None
) -> dict[str, Any]:
    """Patient settings within the caps; a value above a cap is refused, cap shown."""
    allowed = ("intensity_percent", "brush_speed_cm_s", "reminder_times")
    for key in changes:
        if key not in allowed:
            raise InvalidInput(key, changes[key], list(allowed))

    def change(plan: Plan | None) -> dict[str, Any]:
        base = planner.protocol()
        if plan is None or base is None:
            raise InvalidInput("plan", None, "an assigned plan", "no plan is assigned yet")
        protocol = planner.effective(base)
        raw = {k: v for k, v in plan.settings.items() if k != CAPS_KEY}
        try:
            mine = PatientSettings.model_validate(raw).model_dump()
        except ValidationError:
            mine = PatientSettings().model_dump()
        merged = {**mine, **changes}
        try:
            new = PatientSettings.model_validate(merged)
        except ValidationError as exc:
            p = problems_from_validation(exc, merged)[0]
            raise InvalidInput(p.path, p.value, _range_of(p.path), p.message) from None
        problems = check_settings(protocol, new, planner.wiring)
        if problems:
            p = problems[0]
            raise InvalidInput(p.path, p.value, _cap_of(protocol, p.path), p.message)
        stored = {**plan.settings, **new.model_dump(mode="json")}
        planner.check_plan(base, dict(plan.levels), stored)  # before anything is written
        return {
            "protocol_id": plan.protocol_id,
            "protocol_version": plan.protocol_version,
            "settings": stored,
            "reason": f"settings changed by {by}",
            "result": new.model_dump(mode="json"),
        }

    return write(planner, change, revision=revision)


def _range_of(path: str) -> str | None:
    field = PatientSettings.model_fields.get(path)
    return field.description if field else None


def _cap_of(protocol: Protocol, path: str) -> str | None:
    caps = protocol.caps
    if path == "brush_speed_cm_s":
        return f"<= {caps.max_brush_speed_cm_s:g} cm/s"
    if path == "reminder_times":
        return f"at most {caps.sessions_per_day} times"
    return None


def cap_number(key: str, value: Any, *, whole: bool) -> float | int:
    """A cap is a finite number, and a whole one where the cap counts (sessions per day):
    never coerced (``true`` is not 1, ``2.7`` sessions are not 2, ``-1e400`` is not a
    number a clinician meant)."""
    allowed = "a whole number" if whole else "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(key, value, allowed, f"give {key} as {allowed}")
    if not math.isfinite(value):
        raise InvalidInput(key, value, allowed, f"{key} must be {allowed}, not infinite or NaN")
    if whole:
        if not float(value).is_integer():
            raise InvalidInput(key, value, allowed, f"{key} counts sessions: give a whole number")
        return int(value)
    return float(value)
