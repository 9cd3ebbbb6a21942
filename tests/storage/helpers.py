"""Shared helpers for the storage tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from station.storage import Store

ZONE = ZoneInfo("Europe/London")


class Clock:
    def __init__(self, start: datetime):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t += timedelta(**kw)
        return self.t


def program(kinds: list[str]) -> str:
    """A program JSON shaped like station.program.Program (steps with index and kind)."""
    return json.dumps({"steps": [{"index": i, "kind": k} for i, k in enumerate(kinds)]})


def arm(store: Store, kinds: tuple[str, ...] = ("vibrate", "rate", "brush", "rate"), **kw) -> int:
    return store.sessions.create(
        "forearm-basic",
        "1.0",
        "sha256:abc",
        kw.pop("level", 0),
        program(list(kinds)),
        len(kinds),
        **kw,
    )


def run_session(
    store: Store, clock: Clock, *, minutes: float = 5, final: str = "completed", **kw
) -> int:
    sid = arm(store, **kw)
    store.sessions.set_state(sid, "running")
    clock.advance(minutes=minutes)
    store.sessions.set_state(
        sid, final, reason="done" if final == "completed" else "stop button", by="panel"
    )
    return sid
