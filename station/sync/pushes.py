"""Applying what the clinic hub pushes (a protocol, a patient's plan) through EXACTLY the
validation a local change gets, atomically: refused as a whole, with the reason, or
applied whole.

- A protocol: ``protocol.library.import_text``, as a clinician's upload (the same
  ``load_text`` validation against this station's wiring; a changed protocol under an
  existing id and version is refused, never overwritten). Its id must be the one the push
  names.
- A plan: the patient named by its pseudonymous id (``patients.global_id``), the protocol
  (and version) from the library, every ladder and level checked, then the candidate plan
  passes ``Planner.check_plan`` (caps, the patient's settings, every ladder compiled at its
  level on this wiring) and is written through ``plan_edit.write`` with the revision it
  was computed from, as ``plan_edit.assign`` does. ``on_plan_changed`` then lets the app
  re-arm (the coordinator's own path after a local change).
The answer (``Answer``) becomes a ``PushAck`` record in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from station.app import plan_edit
from station.app.planner import Planner
from station.errors import InvalidInput, NotFound, StationError
from station.hub import messages as m
from station.protocols import library
from station.protocols.load import load_text
from station.storage.models import Plan
from station.storage.store import Store
from station.wiring import WiringConfig

log = logging.getLogger("station.sync")
MAX_REASON = 2000  # PushAck.reason


@dataclass(frozen=True)
class Answer:
    outcome: str  # applied | refused
    reason: str = ""


class PushApplier:
    def __init__(
        self,
        *,
        data_dir: Path,
        store: Store,
        wiring: WiringConfig | None = None,
        clock: Callable[[], datetime] | None = None,
        on_plan_changed: Callable[[int], None] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.store = store
        self.wiring = wiring
        self.clock = clock
        self.on_plan_changed = on_plan_changed

    def apply(self, push: m.ProtocolPush | m.PlanPush) -> Answer:
        try:
            if isinstance(push, m.ProtocolPush):
                self._protocol(push)
            else:
                self._plan(push)
        except StationError as exc:
            return Answer("refused", _reason(str(exc)))
        except Exception as exc:  # a bug must not lose the answer: refused, and logged
            log.exception("applying push %s", push.id)
            return Answer("refused", _reason(f"the station failed to apply it ({exc})"))
        return Answer("applied")

    def _protocol(self, push: m.ProtocolPush) -> None:
        source = f"clinic hub push {push.id}" + (f" by {push.by}" if push.by else "")
        protocol = load_text(push.document, fmt="toml", source=source, wiring=self.wiring)
        if protocol.id != push.protocol_id:
            raise InvalidInput(
                "protocol_id",
                push.protocol_id,
                f"the document's own id ({protocol.id!r})",
                f"the push names protocol {push.protocol_id!r} but the document is "
                f"{protocol.id!r}; push it under its own id",
            )
        library.import_text(
            self.data_dir, push.document, fmt="toml", source=source, wiring=self.wiring
        )

    def _plan(self, push: m.PlanPush) -> None:
        pid = self._patient(str(push.patient_id))
        planner = Planner(
            data_dir=self.data_dir,
            store=self.store.for_patient(pid),
            wiring=self.wiring,
            clock=self.clock,
        )
        protocol = library.get_protocol(self.data_dir, push.protocol_id, push.protocol_version)
        ladders = {lad.name: len(lad.levels) for lad in protocol.ladders}
        for name, index in push.levels.items():
            if name not in ladders:
                raise InvalidInput(f"levels.{name}", name, sorted(ladders))
            if index >= ladders[name]:
                raise InvalidInput(
                    f"levels.{name}", index, f"a level index from 0 to {ladders[name] - 1}"
                )
        by = push.by or "the clinic hub"

        def change(plan: Plan | None) -> dict[str, Any]:
            levels = dict.fromkeys(ladders, 0)
            if plan and plan.protocol_id == protocol.id:
                levels.update({k: v for k, v in plan.levels.items() if k in levels})
            levels.update(push.levels)
            planner.check_plan(protocol, levels, dict(plan.settings) if plan else {})
            return {
                "protocol_id": protocol.id,
                "protocol_version": protocol.version,
                "levels": levels,
                "reason": f"pushed from the clinic hub by {by}",
                "result": {"levels": levels},
            }

        plan_edit.write(planner, change)
        if self.on_plan_changed is not None:
            try:
                self.on_plan_changed(pid)
            except StationError as exc:  # applied; arming says on the page why not
                log.warning("after the pushed plan: %s", exc)

    def _patient(self, global_id: str) -> int:
        for patient in self.store.patients.list(include_archived=True):
            if patient.global_id == global_id:
                if getattr(patient, "archived", False):
                    raise InvalidInput(
                        "patient_id", global_id, "an active patient",
                        "this patient's record is archived on the station; restore it first",
                    )  # fmt: skip
                return int(patient.id)
        raise NotFound(f"patient_id {global_id}: no such patient on this station")


def _reason(text: str) -> str:
    text = text.strip() or "refused"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."
