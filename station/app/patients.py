"""Which patient the station works for: the ACTIVE patient, and who a request acts for.

One engine, several patients (a clinic station serves several in a day): the station
works for one patient at a time, the active one. The clinician chooses it (``activate``);
arming arms the active patient's next session, so the panel's start runs the patient
whose session is armed. A home station has exactly one patient: it is always active and
nobody chooses anything.

A request made by a patient ACCOUNT acts for that account's patient, whatever is active
(``acting_for``, set by the web layer for the whole request): every repository the app
reaches through ``coordinator.store`` is then that patient's, so a patient can never read
another's record, and an engine action (start, pause, rate, a re-arm after a settings
change) is refused or skipped unless that patient is the active one.

Why a context variable: the app's collaborators (planner, recorder, arming, ...) read
``coordinator.store`` in many places; a store that follows ``current()`` scopes all of
them at once, and the engine's own threads (follower, reminders) never carry a request's
choice, so they always work for the active patient.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from station.errors import Conflict
from station.storage import Store
from station.storage.patients import PatientRequired
from station.storage.station_sessions import latest_session_patient, station_live

_ACTING: ContextVar[int | None] = ContextVar("station_acting_patient", default=None)

OTHER_PATIENT_TEXT = "The station is in use for another patient."
# Status fields that describe the active patient's session: hidden from other patients.
_SESSION_FIELDS: dict[str, Any] = {
    "session": None,
    "step": None,
    "elapsed_ms": 0,
    "duration_ms": 0,
    "progress": 0.0,
    "time_left_ms": 0,
    "time_left_text": "",
    "next": None,
    "stop_threshold": None,
    "reminder": None,
    "due_text": None,
    "limit_text": None,
    "questions": [],
    "site": None,
    "guide": None,
    "sites": {},
}


class ActivePatient:
    """The active patient (thread-safe) and the patient the current request acts for."""

    def __init__(self, *, base: Store):
        self._base = base
        self._active: int | None = None
        self._lock = threading.Lock()

    def active(self) -> int:
        """The active patient: chosen by the clinician; else the station's one patient;
        else the patient of the station's latest session; else the first patient."""
        with self._lock:
            if self._active is None:
                self._active = self._initial()
            return self._active

    def _initial(self) -> int:
        patients = self._base.patients.list()
        if not patients:
            raise PatientRequired(0)
        if len(patients) == 1:
            return patients[0].id
        ids = {p.id for p in patients}
        live = station_live(self._base.db)  # the session the engine may hold
        if live is not None and live[2] in ids:
            return live[2]
        latest = latest_session_patient(self._base.db, among=ids)
        return latest if latest is not None else patients[0].id

    def current(self) -> int:
        """The patient the caller works for: the request's own, else the active one."""
        acting = _ACTING.get()
        return acting if acting is not None else self.active()

    def acting(self) -> int | None:
        """The patient a patient account's request acts for (None: the station's)."""
        return _ACTING.get()

    def is_other(self) -> bool:
        """Does this request act for a patient other than the active one?"""
        acting = _ACTING.get()
        return acting is not None and acting != self.active()

    def require_active(self, what: str) -> None:
        """Refuse an engine action asked for a patient who is not the active one."""
        if self.is_other():
            raise Conflict(
                f"the station is set up for another patient's session; {what} is not "
                "possible now. Ask the clinician to choose you on the station."
            )

    def set_active(self, patient_id: int) -> None:
        with self._lock:
            self._active = patient_id

    @contextmanager
    def acting_for(self, patient_id: int | None) -> Iterator[None]:
        """Within the block, ``current()`` is ``patient_id`` (None: the active one)."""
        token = _ACTING.set(patient_id)
        try:
            yield
        finally:
            _ACTING.reset(token)

    @contextmanager
    def as_station(self) -> Iterator[None]:
        """Within the block, work for the active patient (the engine's own view)."""
        with self.acting_for(None):
            yield


def redact_status(status: dict[str, Any]) -> dict[str, Any]:
    """The station's status as another patient may see it: the engine's state, faults,
    the e-stop and stop, never the active patient's session."""
    out = {**status, **{k: v for k, v in _SESSION_FIELDS.items() if k in status}}
    out["state_text"] = f"{OTHER_PATIENT_TEXT} {status.get('state_text') or ''}".strip()
    return out


def redacted_for_other_patients(
    status: Callable[[Any], dict[str, Any]],
) -> Callable[[Any], dict[str, Any]]:
    """For ``Coordinator.status``: computed for the active patient (the engine's truth),
    and redacted (``redact_status``) when the request acts for another patient."""

    @functools.wraps(status)
    def wrapper(coord: Any) -> dict[str, Any]:
        patients: ActivePatient = coord.patients
        if not patients.is_other():
            return status(coord)
        with patients.as_station():
            return redact_status(status(coord))

    return wrapper


def enter_request(patient_id: int | None) -> Any:
    """For the web layer: start a request acting for ``patient_id`` (a patient account)
    or for the station (None); returns the token ``leave_request`` takes."""
    return _ACTING.set(patient_id)


def leave_request(token: Any) -> None:
    _ACTING.reset(token)
