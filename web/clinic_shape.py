"""What the clinician's pages show, in words: local human times, sessions with their state
and who ended them, the protocol choices (every stored version, each with its own levels).

Times are the station's (``store.tz``; None: the system's zone) and "today"/"yesterday"
are counted from the station's clock (``store.now()``), so on a simulated clock that has
jumped three days a session of the jump's morning reads "today".
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from station.errors import ConfigError
from station.i18n import N_, _
from station.protocols import library
from web import i18n_format

STATE_WORDS = {  # marked for the catalog (N_); translated where shown (_)
    "armed": N_("ready to start (never started)"),
    "running": N_("running now"),
    "paused": N_("paused"),
    "completed": N_("completed"),
    "stopped": N_("stopped early"),
    "aborted": N_("cut off (the station stopped or lost power)"),
}
REASON_WORDS = {
    "user": N_("Stop pressed on the page"),
    "too_much": N_('the patient pressed "too much"'),
    "panel_stop": N_("the panel's stop button"),
    "estop": N_("the emergency stop"),
    "rating": N_("a live rating at the stop threshold"),
    "fault": N_("a hardware fault"),
    "watchdog": N_("the safety watchdog (the loop stalled)"),
    "completed": N_("played to its end"),
}


def human_time(when: datetime | str | None, *, tz: tzinfo | None, now: datetime) -> str:
    """``when`` as a person reads it in the station's zone and their language: "today
    14:05", "yesterday 09:30", "Mon 3 Mar 14:05" (this year), "3 Mar 2024 14:05"."""
    return i18n_format.human_time(when, tz=tz, now=now)


def human_day(day: date | str) -> str:
    return i18n_format.human_day(day)


def ended_words(state: str, reason: str | None, by: str | None) -> str:
    """How a session ended, and by whom, in words ("" while it has not ended)."""
    if state in ("armed", "running", "paused"):
        return ""
    what = _(REASON_WORDS[reason]) if reason in REASON_WORDS else reason or _("no reason recorded")
    return _("%(what)s (by %(by)s)", what=what, by=by) if by else what


def session_rows(store: Any, *, limit: int = 20) -> list[dict[str, Any]]:
    """The patient's sessions that played (armed-never-started ones are not sessions a
    clinician reviews), newest first, in words."""
    now, tz = store.now(), store.tz
    rows = []
    for s in store.sessions.latest(limit=limit, played=True):
        rows.append(
            {
                "id": s.id,
                "started": human_time(s.started_at, tz=tz, now=now),
                "started_iso": s.started_at.isoformat() if s.started_at else "",
                "level": s.level_name or f"{s.ladder} {s.level}",
                "protocol": f"{s.protocol_id} v{s.protocol_version}",
                "state": _(STATE_WORDS[s.state]) if s.state in STATE_WORDS else s.state,
                "ended": ended_words(s.state, s.end_reason, s.ended_by),
            }
        )
    return rows


def protocol_choices(data_dir: Any) -> list[dict[str, Any]]:
    """Every stored version of every protocol with its own levels, for the assign form
    (value ``id@version``) and the preview."""
    out = []
    for s in library.list_protocols(data_dir):
        try:
            p = library.get_protocol(data_dir, s.id, s.version)
        except ConfigError:  # a damaged file is `validate`'s to report
            continue
        out.append(
            {
                "key": f"{s.id}@{s.version}",
                "id": s.id,
                "version": s.version,
                "name": s.name,
                "levels": [
                    {
                        "value": f"{lad.name}/{i}",
                        "name": f"{lad.name}: {lv.name}",
                        "steps": len(lv.steps),
                        "description": lv.description or "",
                    }
                    for lad in p.ladders
                    for i, lv in enumerate(lad.levels)
                ],
            }
        )
    return out


def split_key(key: str) -> tuple[str, str | None]:
    """``id@version`` (the form's value) -> (id, version); a bare id -> (id, None)."""
    pid, _at, version = key.partition("@")
    return pid, (version or None)


def reviewed_patient(coord: Any, raw: str | None) -> Any:
    """The patient a clinician's READ-ONLY page (report, PDF, audit) is about: ``?patient=ID``
    when given, else the active patient. Reading never changes what the station is armed
    for, so a clinician can review one patient while another's session runs. (The plan page
    writes, so it always works on the active patient: see ``web.clinician``.)"""
    from web.errors import ApiError

    if raw is None or raw == "":
        return coord.store.patients.get(coord.patients.active())
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise ApiError(400, "invalid_input", f"patient must be a patient's number, such as 1 "
                       f"(got {raw!r}); choose the patient from the patients list",
                       field="patient", value=raw)  # fmt: skip
    return coord.store.patients.get(int(raw))  # NotFound: 404 naming the id


def desk(coord: Any) -> list[dict[str, Any]]:
    """The patients list (``patient_desk.overview``) with each last session's local time."""
    from station.app import patient_desk

    store = coord.store
    now, tz = store.now(), store.tz
    rows = patient_desk.overview(coord)
    for row in rows:
        last = row.get("last_session")
        if last:
            last["human"] = human_time(last.get("started_at"), tz=tz, now=now)
    return rows
