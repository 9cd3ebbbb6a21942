"""A scripted patient who follows a programme over simulated days, through the app's API.

Everything goes through the running app as a person and the page would: the clinician
assigns the protocol (``POST /api/plan``), the clock is moved with ``POST /api/sim/clock``
(a jump to the next session time; while a session plays the clock runs ``RATE`` times
faster, and the simulated engine plays the program as fast), the patient presses start
(``POST /api/start``), answers each of the protocol's own rating steps on the page
(``POST /api/ratings`` while the step waits: on a fast clock the simulated engine pauses
at each rate step, nobody answers in a blink) and resumes (``POST /api/resume``). The
engine is the real one on the simulator, so every step the program has is played,
from the armed built-in level to "completed".

A session's script is one of:
- a list of ratings, one per rate step of the level (the last is repeated if the level
  has more rate steps than the list);
- ``STOP_LIVE``: a live rating at the protocol's stop threshold during the first
  stimulus (the clock runs at real speed for that session so the rating surely lands in
  the stimulus); the engine stops at once;
- ``TOO_MUCH``: the patient presses "too much" during the first stimulus.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.web.conftest import wait_for

RATE = 500.0  # simulated seconds per real second while a session plays
STOP_LIVE = "stop-live"
TOO_MUCH = "too-much"
SESSION_TIMEOUT_S = 20.0


@dataclass
class Outcome:
    session_id: int
    ladder: str
    level_before: int
    state: str
    action: str
    level_after: int
    reason: str
    ratings: list[int]


class Journey:
    def __init__(
        self,
        *,
        app: Any,
        clinician: Any,
        patient: Any,
        protocol: str,
        level: str,
        rate: float = RATE,
    ):
        self.app = app
        self.clinician = clinician
        self.patient = patient
        self.rate = rate
        r = clinician.post("/api/plan", json={"protocol": protocol, "level": level})
        assert r.status_code == 200, r.get_json()
        self.day0 = self._local_midnight_after(self.now())
        self.outcomes: list[Outcome] = []

    # -- the clock ---------------------------------------------------------------------------

    def clock(self, **body: Any) -> dict[str, Any]:
        r = self.patient.post("/api/sim/clock", json=body)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def now(self) -> datetime:
        r = self.patient.get("/api/sim/clock")
        assert r.status_code == 200, r.get_json()
        return datetime.fromisoformat(r.get_json()["now"])

    @staticmethod
    def _local_midnight_after(now: datetime) -> datetime:
        local = now.astimezone()
        nxt = datetime(local.year, local.month, local.day) + timedelta(days=1)
        return nxt.astimezone()  # naive local -> aware (the station's "per day" is local)

    def go_to(self, day: int, hour: float) -> None:
        """Jump the simulated clock to ``hour`` o'clock (local) of journey day ``day``
        (day 1 is the first day); never backwards."""
        base = self.day0 + timedelta(days=day - 1)
        target = datetime(base.year, base.month, base.day).astimezone() + timedelta(hours=hour)
        ahead = (target - self.now()).total_seconds()
        self.clock(advance_s=max(ahead, 0.0))

    # -- one session ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.patient.get("/api/status").get_json()

    def session(self, script: list[int] | str) -> Outcome:
        """Play one session of the armed level as ``script`` says; returns its record."""
        st = self.status()
        assert st["next"] and st["next"]["allowed"], st["next"]
        level_before, ladder = st["next"]["level_index"], st["next"]["ladder"]
        live_stop = isinstance(script, str)
        self.clock(rate=1.0 if live_stop else self.rate)
        r = self.patient.post("/api/start")
        assert r.status_code == 200, r.get_json()
        sid = r.get_json()["session_id"]
        ratings: list[int] = []
        if script == STOP_LIVE:
            threshold = self.status()["stop_threshold"]
            r = self.patient.post("/api/ratings", json={"value": threshold})
            assert r.status_code == 201 and r.get_json()["live"] and r.get_json()["stopped"]
        elif script == TOO_MUCH:
            r = self.patient.post("/api/too-much")
            assert r.status_code == 200, r.get_json()
        else:
            assert isinstance(script, list)
            ratings = self._answer_rate_steps(sid, list(script))
        record = wait_for(lambda: self._decided(sid), timeout=SESSION_TIMEOUT_S)
        self.clock(rate=1.0)
        decision = record["decision"]
        assert decision["from_level"] == level_before, record
        out = Outcome(
            sid,
            ladder,
            level_before,
            record["state"],
            decision["action"],
            decision["to_level"],
            decision["reason"],
            ratings,
        )
        self.outcomes.append(out)
        return out

    def _answer_rate_steps(self, sid: int, script: list[int]) -> list[int]:
        answered: list[int] = []
        deadline = time.monotonic() + SESSION_TIMEOUT_S
        while time.monotonic() < deadline:
            st = self.status()
            session = st["session"]
            if session is None or session["id"] != sid:
                return answered  # the session has ended
            step = st["step"]
            # The engine waits at the rate step, and the record says so (the event has
            # reached the app): the patient answers, then goes on.
            if st["state"] == session["state"] == "paused" and step and step["kind"] == "rate":
                value = script[min(len(answered), len(script) - 1)]
                r = self.patient.post("/api/ratings", json={"value": value})
                if r.status_code != 201:
                    record = self.patient.get(f"/api/sessions/{sid}").get_json()
                    raise AssertionError((r.get_json(), record, len(self.outcomes)))
                body = r.get_json()
                assert body["live"] is False, "the answer to a rate step is an after-step rating"
                answered.append(value)
                if body["stopped"]:
                    return answered
                r = self.patient.post("/api/resume")
                if r.status_code != 200:  # say what the engine did (a stop? which?)
                    eng = self.app.extensions["station.app.coordinator"].link.call("status")
                    raise AssertionError((r.get_json(), eng, len(self.outcomes)))
            time.sleep(0.01)
        raise AssertionError(f"session {sid} did not end in {SESSION_TIMEOUT_S} s")

    def _decided(self, sid: int) -> dict[str, Any] | None:
        record = self.patient.get(f"/api/sessions/{sid}").get_json()
        if record["state"] in ("completed", "stopped") and record["decision"]:
            return record
        return None

    # -- a day ---------------------------------------------------------------------------------

    def day(self, day: int, scripts: list[list[int] | str], *, first_hour: float, every_h: float):
        """Sessions on journey day ``day``: the first at ``first_hour``, then every
        ``every_h`` hours; returns the level after each session."""
        levels = []
        for k, script in enumerate(scripts):
            self.go_to(day, first_hour + k * every_h)
            levels.append(self.session(script).level_after)
        return levels
