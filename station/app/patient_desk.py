"""The clinician's patient desk: the patients list (adherence, last session), adding a
patient, and choosing the patient the station works for (``activate``).

Activating a patient arms THAT patient's next session, so the panel's start (which plays
whatever is armed) runs the patient the clinician chose. Refused while a session runs or
is paused: the engine's program belongs to the patient it was armed for until it ends.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from station.errors import Conflict
from station.storage.limits import local
from station.storage.patients import Patient
from station.storage.station_sessions import station_live

ADHERENCE_DAYS = 7


def summary(coord: Any, patient: Patient) -> dict[str, Any]:
    """One patient as the clinician's list shows it: the record, whether it is active,
    the last session that played and the last 7 days' adherence."""
    store = coord.store.for_patient(patient.id)
    last = store.sessions.latest(limit=1, played=True)
    today: date = local(store.now(), store.tz).date()
    days = store.progress.adherence(
        today - timedelta(days=ADHERENCE_DAYS - 1), today, sessions_per_day=None
    )
    prescribed = sum(d.prescribed or 0 for d in days)
    completed = sum(d.completed for d in days)
    plan = store.plans.get()
    return {
        **patient.as_dict(),
        "active": patient.id == coord.patients.active(),
        "plan": None if plan is None else f"{plan.protocol_id} {plan.protocol_version}",
        "last_session": None
        if not last
        else {
            "id": last[0].id,
            "state": last[0].state,
            "started_at": last[0].started_at.isoformat() if last[0].started_at else None,
            "level_name": last[0].level_name,
        },
        "adherence": {
            "days": ADHERENCE_DAYS,
            "prescribed": prescribed,
            "started": sum(d.started for d in days),
            "completed": completed,
            "fraction": round(min(1.0, completed / prescribed), 3) if prescribed else None,
        },
    }


def overview(coord: Any, *, include_archived: bool = False) -> list[dict[str, Any]]:
    return [summary(coord, p) for p in coord.store.patients.list(include_archived=include_archived)]


def activate(coord: Any, patient_id: int, *, by: str) -> dict[str, Any]:
    """Make ``patient_id`` the patient the station works for and arm their next session;
    another patient's armed (never started) session is disarmed first."""
    patients = coord.patients
    patient = coord.store.patients.get(patient_id)  # NotFound: 404
    if patient.archived:
        raise Conflict(f"patient {patient.id} is archived; restore the record before choosing it")
    live = station_live(coord.store.db)
    if live is not None and live[1] in ("running", "paused") and live[2] != patient.id:
        raise Conflict(
            f"session {live[0]} is {live[1]}; stop it (or let it finish) before choosing "
            "another patient"
        )
    with patients.as_station():
        if patient.id != patients.active():
            if live is not None and live[1] == "armed" and live[2] != patient.id:
                coord.store.for_patient(live[2]).sessions.set_state(
                    live[0], "stopped", f"disarmed: {by} chose another patient", "system"
                )
                coord.arming.call_quiet("disarm")
            patients.set_active(patient.id)
        coord.arming.arm_next(force=True)
        coord.arming.sync_indicator()
        coord.reminders.check()
    return {**summary(coord, patient), "status": coord.status()}
