"""Who changed what: the coordinator's plan changes write an audit row (``store.audit``).

``audited(what)`` wraps a coordinator method that takes ``by=``: it reads the patient's
plan before and after the change and records what differs (protocol and version, levels,
caps, settings, sites), with who did it. Reading the plan on both sides, rather than
trusting each method to describe itself, means a change another path adds later is still
described by what it did. A refused change writes nothing (the method raised).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from station.app.planner import CAPS_KEY

F = TypeVar("F", bound=Callable[..., Any])


def snapshot(store: Any) -> dict[str, Any]:
    """The parts of a patient's plan a person changes, flat: protocol, levels, each cap,
    each setting, each site."""
    plan = store.plans.get()
    if plan is None:
        return {}
    settings = dict(plan.settings)
    caps = dict(settings.pop(CAPS_KEY, None) or {})
    sites = dict(settings.pop("sites", None) or {})
    out: dict[str, Any] = {"protocol": f"{plan.protocol_id} v{plan.protocol_version}"}
    out.update({f"level {k}": v for k, v in plan.levels.items()})
    out.update({f"cap {k}": v for k, v in caps.items()})
    out.update({f"setting {k}": v for k, v in settings.items()})
    out.update({f"site {k}": v for k, v in sites.items()})
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def describe(changes: dict[str, list[Any]]) -> str:
    if not changes:
        return "saved without a change"
    return "; ".join(f"{k}: {_v(a)} -> {_v(b)}" for k, (a, b) in changes.items())


def _v(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def audited(what: str) -> Callable[[F], F]:
    def wrap(method: F) -> F:
        @functools.wraps(method)
        def inner(coord: Any, *args: Any, **kwargs: Any) -> Any:
            store = coord.store
            pid = store.patient_id
            bound = store.for_patient(pid)
            before = snapshot(bound)
            out = method(coord, *args, **kwargs)
            changes = diff(before, snapshot(bound))
            store.audit.record(what, describe(changes), actor=str(kwargs.get("by") or ""),
                               patient_id=pid, detail=changes)  # fmt: skip
            return out

        return inner  # type: ignore[return-value]

    return wrap
