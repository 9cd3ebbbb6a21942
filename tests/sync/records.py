"""Making station records through the real repositories (what the app's recorder does for
one played session), for the outbox and hub tests."""

from __future__ import annotations

import json
from datetime import timedelta

from station.storage import Store

KINDS = ("vibrate", "rate", "brush", "rate")


def play_session(store: Store, *, stopped_by_fault: bool = False, value: int = 3) -> int:
    """One session, start to end: steps the engine finished, a live and an after-step
    rating, a journal entry, the progression decision. Returns its local id."""
    program = json.dumps({"steps": [{"index": i, "kind": k} for i, k in enumerate(KINDS)]})
    sid = store.sessions.create("tapping", "1.0", "sha256:abc", 0, program, len(KINDS))
    store.sessions.set_state(sid, "running", enforce_limits=False)
    now = store.now()
    for i, kind in enumerate(KINDS[:2]):
        store.sessions.record_step(sid, i, kind, f"{kind} {i}", started_at=now)
        store.sessions.record_step(
            sid, i, kind, f"{kind} {i}", started_at=now, finished_at=now + timedelta(seconds=1)
        )
    store.ratings.add(sid, value, live=True)
    store.ratings.add(sid, value, step_index=1, pleasantness=2)
    if stopped_by_fault:
        store.sessions.set_state(sid, "stopped", "fault on haptic_left: over_temperature", "engine")
    else:
        store.sessions.set_state(sid, "completed", "completed", "engine")
    store.journal.add("A tingle afterwards, gone in ten minutes.", trigger="after_session")
    store.progress.record_decision(sid, "hold", 0, 0, "mean rating 3")
    return sid
