"""Where the app is in the engine's event sequence, so each event is handled exactly once.

Why: the engine numbers its events and keeps the recent ones. An app that was away (it
restarted, or lost the socket) would otherwise miss the steps the engine delivered
meanwhile, or, on reconnect, record the same event twice. The cursor decides what to
replay and which events to admit; the coordinator does the handling.
"""

from __future__ import annotations

from typing import Any


class EventCursor:
    def __init__(self) -> None:
        self.engine_id: str | None = None  # which engine process ``seq`` belongs to
        self.seq = 0  # the newest engine event handled

    def plan(self, status: dict[str, Any], live_sid: int | None) -> tuple[int | None, int | None]:
        """On (re)connect: ``(since, only_sid)`` for the replay. The same engine: all
        events after the last handled one. A new app or a restarted engine (sequence
        numbers start again): only the session the record has as playing, else nothing."""
        engine_id = status.get("engine_id")
        if engine_id == self.engine_id:
            return self.seq, None
        self.engine_id = engine_id
        self.seq = 0
        return (0, live_sid) if live_sid is not None else (None, None)

    def missed(self, events: list[dict[str, Any]], only_sid: int | None) -> list[dict[str, Any]]:
        """The replayed events worth handling, oldest first. For one session: from the
        last time the engine armed it (a restored or reset record can reuse an id the
        engine saw before); when that ``armed`` event has left the engine's buffer,
        everything left came after it."""
        if only_sid is None:
            return events
        for i in range(len(events) - 1, -1, -1):
            ev = events[i]
            if ev.get("event") == "armed" and str(ev.get("session_id")) == str(only_sid):
                return events[i:]
        return events

    def caught_up(self, status: dict[str, Any]) -> None:
        """History before this connection that was not replayed is not ours to redo."""
        self.seq = max(self.seq, status.get("event_seq") or 0)

    def admit(self, event: dict[str, Any], only_sid: int | None = None) -> bool:
        """True the first time an event is seen (replay and stream may overlap: the
        sequence number decides); with ``only_sid``, other sessions' events are not."""
        seq = event.get("seq")
        if isinstance(seq, int):
            if seq <= self.seq:
                return False
            self.seq = seq
        return only_sid is None or str(event.get("session_id")) == str(only_sid)
