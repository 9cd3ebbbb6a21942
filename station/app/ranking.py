"""Recording the patient's ranking: which ladder, whether the order fits, then one write.

A patient-ranked ladder (``ranked_by_patient``: fabrics, textures, rice and lentils) is
played in the patient's order, least irritating first. The order is checked against the
protocol BEFORE anything is written (every item once, no unknown item, a ladder that is
ranked at all, and the ladder's level compiled with it through the planner's atomic plan
check), then ``store.rankings.record`` sets it in force and appends the history in one
transaction. A refusal names the field (``ladder`` or ``order``) and what to change.

The ladder is looked up in the plan's protocol first, then in the library: a ranked
protocol cannot be assigned without its ranking, so the ranking may be recorded before
the protocol that plays it is assigned (``protocol`` names it when two protocols have a
ranked ladder of the same name).
"""

from __future__ import annotations

from typing import Any

from station.errors import ConfigError, InvalidInput, NotFound, Problem, StationError
from station.protocols import library
from station.protocols.model import Ladder, Level, ManualStep, Protocol
from station.protocols.settings import check_ranking
from station.storage.rankings import AlreadyRanked, RankingRecord

__all__ = ["AlreadyRanked", "record", "resolve", "view"]


def _plan_protocol(planner: Any) -> Protocol | None:
    try:
        protocol: Protocol | None = planner.protocol()
    except StationError:  # the plan's protocol file is gone: only the library can answer
        return None
    return protocol


def _library(planner: Any) -> list[Protocol]:
    """The newest version of every protocol in the library (stored or built in)."""
    out = []
    for pid in sorted({s.id for s in library.list_protocols(planner.data_dir)}):
        try:
            out.append(library.get_protocol(planner.data_dir, pid))
        except StationError:
            continue
    return out


def ranked_ladders(planner: Any) -> list[str]:
    """Every patient-ranked ladder the station knows, as ``ladder (protocol)``."""
    names = []
    for p in _library(planner):
        names += [f"{lad.name} ({p.id})" for lad in p.ladders if lad.ranked_by_patient]
    return names


def resolve(planner: Any, ladder: str, protocol_id: str | None = None) -> tuple[Protocol, bool]:
    """(protocol, whether it is the plan's) whose patient-ranked ``ladder`` this is."""
    base = _plan_protocol(planner)
    mine = base is not None and protocol_id in (None, base.id)
    if base is not None and mine and any(lad.name == ladder for lad in base.ladders):
        return _ranked(base, ladder, planner), True
    if protocol_id is not None:
        try:
            candidates = [library.get_protocol(planner.data_dir, protocol_id)]
        except NotFound as exc:
            raise InvalidInput(
                "protocol", protocol_id, "a protocol in the library", str(exc)
            ) from None
    else:
        candidates = _library(planner)
    found = [p for p in candidates if any(lad.name == ladder for lad in p.ladders)]
    if not found:
        allowed = ranked_ladders(planner)
        raise InvalidInput(
            "ladder",
            ladder,
            allowed,
            f"ladder = {ladder!r}: no such ladder"
            + (f" in protocol '{protocol_id}'" if protocol_id else "")
            + f"; the patient-ranked ladders are: {', '.join(allowed) or 'none'}",
        )
    ranked = [p for p in found if p.ladder(ladder).ranked_by_patient]
    if len({tuple(lv.id for lv in p.ladder(ladder).levels) for p in ranked}) > 1:
        ids = sorted(p.id for p in ranked)
        raise InvalidInput(
            "protocol",
            None,
            ids,
            f"ladder '{ladder}' is in several protocols ({', '.join(ids)}); name the one "
            "meant with protocol",
        )
    return _ranked(ranked[0] if ranked else found[0], ladder, planner), False


def _ranked(protocol: Protocol, ladder: str, planner: Any) -> Protocol:
    if not protocol.ladder(ladder).ranked_by_patient:
        allowed = ranked_ladders(planner)
        raise InvalidInput(
            "ladder",
            ladder,
            allowed,
            f"ladder = {ladder!r}: protocol '{protocol.id}' plays it in a fixed order, so "
            f"the patient does not rank it; the patient-ranked ladders are: "
            f"{', '.join(allowed) or 'none'}",
        )
    return protocol


def check_order(protocol: Protocol, ladder: str, order: list[str]) -> None:
    """The protocol's own ranking check, refused with what exactly to change."""
    if not check_ranking(protocol, ladder, order):
        return
    ids = [lv.id for lv in protocol.ladder(ladder).levels if lv.id is not None]
    missing = [i for i in ids if i not in order]
    unknown = [i for i in order if i not in ids]
    twice = sorted({i for i in order if order.count(i) > 1})
    what = []
    if missing:
        what.append(f"add {missing}")
    if unknown:
        what.append(f"remove {unknown} (not items of this ladder)")
    if twice:
        what.append(f"list {twice} only once")
    raise ConfigError(
        None,
        [
            Problem(
                "order",
                f"ladder '{ladder}' needs each of its {len(ids)} items exactly once, least "
                f"irritating first: {'; '.join(what)}; items: {ids}",
                order,
                True,
            )
        ],
    )


def record(
    coord: Any,
    ladder: str,
    order: list[str],
    *,
    by: str,
    protocol_id: str | None = None,
    intake_only: bool = False,
) -> RankingRecord:
    """Validate ``order`` for ``ladder`` whole, then set it in force and keep its history
    (one transaction); the plan's next session is re-armed in the new order.
    ``intake_only`` (the patient's own ranking): refused once the ladder has a ranking."""
    planner, store = coord.planner, coord.store
    if intake_only and (ladder in store.rankings.in_force() or store.rankings.history(
            ladder=ladder, limit=1)):  # fmt: skip
        raise AlreadyRanked(ladder)  # who may, before what was sent
    protocol, in_plan = resolve(planner, ladder, protocol_id)
    check_order(protocol, ladder, list(order))
    plan = store.plans.get()
    if plan is None:
        raise InvalidInput(
            "plan",
            None,
            "an assigned plan",
            "no plan is assigned yet: assign a protocol first, then record the ranking",
        )
    if in_plan:  # the plan's ladder compiled at its level in the new order, caps and all
        rankings = {**dict(plan.settings.get("rankings") or {}), ladder: list(order)}
        settings = {**plan.settings, "rankings": rankings}
        planner.check_plan(protocol, {ladder: int(plan.levels.get(ladder, 0))}, settings)
    else:  # a protocol still to be assigned: its ladder compiles with this order
        planner.check_plan(protocol, {ladder: 0}, {"rankings": {ladder: list(order)}})
    rec: RankingRecord = store.rankings.record(
        ladder,
        list(order),
        by=by,
        intake_only=intake_only,
        expected_revision=plan.revision,  # checked against this plan: refused if changed
    )
    if in_plan and hasattr(coord, "arming"):
        coord.arming.arm_next(force=True)
        coord.arming.sync_indicator()
    return rec


def describe(level: Level) -> str:
    """What the patient reads about an item: the level's description, else what its first
    guided step says to do."""
    if level.description:
        return level.description
    for step in level.steps:
        if isinstance(step, ManualStep):
            return step.instruction
    return ""


def _entry(store: Any, protocol: Protocol, lad: Ladder, order: list[str] | None,
           in_plan: bool) -> dict[str, Any]:  # fmt: skip
    by_id = {lv.id: lv for lv in lad.levels}
    shown = [by_id[i] for i in order if i in by_id] if order else list(lad.levels)
    return {
        "ladder": lad.name,
        "protocol_id": protocol.id,
        "protocol_name": protocol.name,
        "description": lad.description or "",
        "in_plan": in_plan,
        "order": order,
        "needs_ranking": in_plan and not order,
        "items": [
            {"id": lv.id or "", "name": lv.name, "description": describe(lv)} for lv in shown
        ],
        "history": [r.as_dict() for r in store.rankings.history(ladder=lad.name, limit=50)],
    }


def view(coord: Any, *, library_too: bool = False) -> dict[str, Any]:
    """Every ranked ladder of the plan, and any other ladder with a ranking in force: the
    order in force (None: not ranked yet), its items and the history, newest first.
    ``library_too``: also the library's ranked ladders not ranked yet (the clinician
    records a ranking before assigning the protocol that needs it)."""
    planner, store = coord.planner, coord.store
    in_force = store.rankings.in_force()
    base = _plan_protocol(planner)
    out: list[dict[str, Any]] = []
    if base is not None:
        for lad in base.ladders:
            if lad.ranked_by_patient:
                out.append(_entry(store, base, lad, in_force.get(lad.name), True))
    listed = {e["ladder"] for e in out}
    for name in sorted(set(in_force) - listed):
        try:
            protocol, _ = resolve(planner, name)
        except StationError:
            continue
        out.append(_entry(store, protocol, protocol.ladder(name), in_force[name], False))
    if library_too:
        listed = {e["ladder"] for e in out}
        for p in _library(planner):
            for lad in p.ladders:
                if lad.ranked_by_patient and lad.name not in listed:
                    listed.add(lad.name)
                    out.append(_entry(store, p, lad, None, False))
    return {"ladders": out}
