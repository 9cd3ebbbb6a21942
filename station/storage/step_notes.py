"""A guided step that ended early, on the session's record of state changes.

Why in ``session_transitions`` (no new table): the record a clinician reads lists a
session's changes in order with who and why (started, paused, "step 2 'Feather' ended
early: it feels numb" by the patient, completed). An early end changes no state, so it is
written as a transition from the session's state to itself; the lifecycle
(``models.TRANSITIONS``) is untouched because nothing here changes ``sessions.state``.
"""

from __future__ import annotations

from station.errors import Conflict
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import to_text
from station.storage.rows import _session_row

LIVE = ("running", "paused")


def note_step_end(
    db: Database, session_id: int, *, patient_id: int, reason: str, by: str | None
) -> str:
    """Write the note for session ``session_id`` (it must be running or paused); returns
    the state it was written under."""
    reason_text = v.text("reason", reason, v.MAX_TEXT_SHORT)
    who = v.text("by", by, v.MAX_NAME, required=False)
    with db.tx() as conn:
        state = _session_row(conn, session_id, patient_id=patient_id)["state"]
        if state not in LIVE:
            raise Conflict(f"session {session_id} is {state}; no step of it is playing")
        conn.execute(
            "INSERT INTO session_transitions (session_id, at, from_state, to_state, reason, by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, to_text(db.now()), state, state, reason_text, who),
        )
    return str(state)
