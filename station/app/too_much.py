"""The "too much" button: the patient's button is a rating, not only a stop.

What it records, and why: a live discomfort rating AT THE SESSION'S STOP THRESHOLD (10
when the program has none). The patient gave no number; what the press tells us is that
the stimulus reached what this patient's protocol defines as "stop now", the same thing a
live rating at the threshold tells (``SessionControl.rate``), so it is recorded exactly
like one: live (it was given during the stimulus), on the step playing, and the session
ends with the reason ``too_much`` and the person who pressed (``ended_by``: a user, or
``anonymous`` for the open ``/api/stop`` body, so the two can be told apart). A 10 would
claim "the worst imaginable", which the patient did not say, and would skew the
clinician's charts; the threshold is the honest lower bound and always counts as "bad"
for progression (``back_min_rating <= stop_threshold`` is a protocol rule), whose
``stopped_by_rating`` also reads the ``too_much`` end reason (``Planner.decide_after``),
so consecutive "too much" sessions step the patient back.
"""

from __future__ import annotations

import logging

from station.app.planner import Planner
from station.app.recorder import SessionRecorder
from station.errors import StationError, StorageFull
from station.storage import Store

log = logging.getLogger("station.app.too_much")

NO_THRESHOLD = 10  # a program without a stop threshold: the top of the 0-10 scale


def too_much_value(planner: Planner, sid: int) -> int:
    """The discomfort a "too much" press stands for in session ``sid``."""
    threshold = planner.stop_threshold(sid)
    return NO_THRESHOLD if threshold is None else int(threshold)


def record_too_much(
    store: Store, planner: Planner, recorder: SessionRecorder, sid: int, *, by: str
) -> int | None:
    """Add the live rating of a "too much" press to the running or paused session ``sid``
    (call it after the engine stopped, before the session is finalised). Returns the
    rating's id; None (logged) when it could not be stored: the stop itself never fails
    because of the record."""
    value, step = too_much_value(planner, sid), recorder.step_playing(sid)
    try:
        return store.ratings.add(sid, value, step_index=step, live=True, by=by[:200])
    except StorageFull:  # the disk is full: written, before the session's end, when it can
        recorder.pending.attempt(
            f"too much ({value}) on session {sid}",
            lambda: store.ratings.add(sid, value, step_index=step, live=True, by=by[:200]),
        )
        return None
    except StationError as exc:
        log.warning("too much on session %s: rating not stored: %s", sid, exc)
        return None
