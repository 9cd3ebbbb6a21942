"""The clinician places the actuators on this patient's body (plan settings ``sites``).

Why apart from the planner: placement is the clinician's decision at the visit (where the
pad is strapped, where the brush strokes), checked against the protocol's opposite rule
(``station.protocols.sites``) through the planner's ``check_plan`` before anything is
written: a placement that would put any level of the plan on an avoided site is refused
whole, naming the step, the actuator, the site and what to change.
"""

from __future__ import annotations

from typing import Any

from station.app import plan_edit
from station.app.planner import Planner
from station.errors import InvalidInput
from station.protocols.sites import placements
from station.storage.models import Plan


def current_sites(planner: Planner) -> dict[str, str | None]:
    """Actuator -> body site for the page: the plan's placement, else the wiring's."""
    return placements(planner.wiring, planner.settings())


def set_sites(planner: Planner, sites: dict[str, str | None], *, by: str) -> dict[str, Any]:
    """Replace the plan's placement of the named actuators (``None`` puts one back to
    the wiring's site). Refused (nothing written) for an unknown actuator, a site that is
    not a body-site word, or a placement the plan's protocol forbids; written with the
    plan's revision (``plan_edit.write``), so a concurrent change is never undone."""
    known = sorted(planner.wiring.sites())
    for actuator in sites:
        if actuator not in known:
            raise InvalidInput(
                f"sites.{actuator}",
                actuator,
                known,
                f"this station has no actuator '{actuator}'; allowed: {', '.join(known)}",
            )

    def change(plan: Plan | None) -> dict[str, Any]:
        protocol = planner.protocol()
        if plan is None or protocol is None:
            raise InvalidInput("plan", None, "an assigned plan", "assign a protocol first")
        merged = dict(planner.settings().sites)
        for actuator, site in sites.items():
            if site is None:
                merged.pop(actuator, None)
            else:
                merged[actuator] = site
        stored = {**plan.settings, "sites": merged}
        planner.check_plan(protocol, dict(plan.levels), stored)  # before anything is written
        return {
            "protocol_id": plan.protocol_id,
            "protocol_version": plan.protocol_version,
            "settings": stored,
            "reason": f"sites set by {by}",
            "result": None,
        }

    plan_edit.write(planner, change)
    return {"sites": current_sites(planner)}
