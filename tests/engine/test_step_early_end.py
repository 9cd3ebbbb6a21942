"""A guided step ends early on request (``end_step``), on the real engine and simulator.

What the patient needs (issue 12): a manual step ("rub the feather until the timer ends or
the area feels numb") ends when the patient says "enough", and a rate step ends when it
is answered; in both cases the next step must begin at once. A stimulus step is the
clinician's dose and must never be cut short this way (the stop button ends it), and a
paused session must not restart stimulation by itself.
"""

from __future__ import annotations

import time

import pytest

from station.engine.ipc import RemoteError
from tests.engine.helpers import program, running_engine, wait_for_event

MANUAL_MS = 20_000  # far longer than any wait here: the step can only end by the request


def _vibrate(ms: int) -> dict:
    return {
        "duration_ms": ms,
        "segments": [{"type": "amplitude", "actuator": "forearm", "duration_ms": ms,
                      "level": 0.5, "ramp_up_ms": 20, "ramp_down_ms": 20}],
    }  # fmt: skip


def _guided(*steps: dict) -> dict:
    return program(list(steps))


MANUAL = {"kind": "manual", "duration_ms": MANUAL_MS}
RATE = {"kind": "rate", "duration_ms": MANUAL_MS}


def _start(rt, c, prog: dict, sid: str) -> None:
    c.call("arm", program=prog, session_id=sid)
    c.call("start", session_id=sid)
    wait_for_event(rt, "step_started", session_id=sid, index=0)


def test_a_manual_step_ended_early_moves_on_to_the_next_step_at_once(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        _start(rt, c, _guided(MANUAL, _vibrate(400)), "m1")
        time.sleep(0.2)
        t = time.monotonic()
        out = c.call("end_step", index=0, reason="enough", by="pat")
        assert out["ended"] == 0 and out["kind"] == "manual" and out["by"] == "pat"
        # about 19.8 s of the 20 s step were left; all of it is skipped
        assert MANUAL_MS - 1000 < out["skipped_ms"] <= MANUAL_MS
        wait_for_event(rt, "step_finished", session_id="m1", index=0, timeout=1.0)
        wait_for_event(rt, "step_started", session_id="m1", index=1, timeout=1.0)
        assert time.monotonic() - t < 1.0
        # the next step plays as prescribed: the forearm vibrates, then the program ends
        deadline = time.monotonic() + 2
        while not c.call("sim.outputs")["forearm"]["active"]:
            assert time.monotonic() < deadline, "the vibration after the manual step never ran"
            time.sleep(0.01)
        stopped = wait_for_event(rt, "stopped", session_id="m1", timeout=3.0)
        assert stopped["reason"] == "completed"


def test_an_answered_last_rate_step_completes_the_session(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        _start(rt, c, _guided(_vibrate(100), RATE), "r1")
        wait_for_event(rt, "step_started", session_id="r1", index=1, timeout=2.0)
        t = time.monotonic()
        c.call("end_step", index=1, reason="answered", by="pat")
        stopped = wait_for_event(rt, "stopped", session_id="r1", timeout=1.0)
        # completed within a second of the answer, not after the step's 20 s: program
        # time went to the end of the program (the rest of the step skipped)
        assert stopped["reason"] == "completed" and time.monotonic() - t < 1.0
        assert stopped["program_ms"] >= 100 + MANUAL_MS


def test_ending_a_step_while_paused_stays_paused_until_resumed(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        _start(rt, c, _guided(MANUAL, _vibrate(300)), "p1")
        c.call("pause")
        out = c.call("end_step", index=0, reason="enough", by="pat")
        assert out["state"] == "paused"
        time.sleep(0.3)
        st = c.call("status")
        assert st["state"] == "paused" and st["step"] == 0
        assert not c.call("sim.outputs")["forearm"]["active"]  # nothing restarted by itself
        c.call("resume")
        wait_for_event(rt, "step_started", session_id="p1", index=1, timeout=1.0)
        assert wait_for_event(rt, "stopped", session_id="p1", timeout=3.0)["reason"] == "completed"


def test_only_the_playing_manual_or_rate_step_can_end_early(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        with pytest.raises(RemoteError) as idle:
            c.call("end_step", index=0)
        assert idle.value.code == "not_running"
        _start(rt, c, _guided(_vibrate(MANUAL_MS), MANUAL), "s1")
        # the step opens with its 20 ms ramp from zero: wait until the skin gets it (on a
        # busy machine the first ticks can come after step_started is already read)
        deadline = time.monotonic() + 2
        while not c.call("sim.outputs")["forearm"]["active"]:
            assert time.monotonic() < deadline, "the vibration step never played"
            time.sleep(0.005)
        with pytest.raises(RemoteError) as stim:
            c.call("end_step", index=0, reason="enough")
        assert stim.value.code == "not_endable" and "vibrate" in str(stim.value)
        with pytest.raises(RemoteError) as wrong:
            c.call("end_step", index=1, reason="enough")
        assert wrong.value.code == "wrong_step" and "step 0 is" in str(wrong.value)
        assert c.call("status")["step"] == 0 and c.call("sim.outputs")["forearm"]["active"]
        for params, field in (({"index": 0, "reason": "numb"}, "reason"),
                              ({"index": -1}, "index"), ({"index": "0"}, "index")):  # fmt: skip
            with pytest.raises(RemoteError) as bad:
                c.call("end_step", params)
            assert bad.value.code == "bad_params" and field in str(bad.value), params
        c.call("stop", reason="user")


def test_a_step_change_cues_on_the_panel_leds_and_never_on_an_actuator(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        _start(rt, c, _guided(MANUAL, MANUAL), "c1")
        t_ns = time.monotonic_ns()
        c.call("end_step", index=0, reason="enough")
        wait_for_event(rt, "step_started", session_id="c1", index=1, timeout=1.0)
        deadline = time.monotonic() + 1
        while c.call("status")["led"] != "step":
            assert time.monotonic() < deadline, "no LED cue at the step change"
            time.sleep(0.01)
        deadline = time.monotonic() + 2  # the cue is short: back to the running pattern
        while c.call("status")["led"] != "running":
            assert time.monotonic() < deadline, "the cue did not end"
            time.sleep(0.02)
        # guided steps drive nothing, and the cue drove nothing either: no haptic register
        # write and no brush move since the step change
        for name in ("forearm", "hand", "upper_arm", "shoulder"):
            writes = [r for r in rt.hw.sim.trace.select(name, "RTP_INPUT") if r.t_ns >= t_ns]
            assert all(r.value == 0 for r in writes), name
            assert not [r for r in rt.hw.sim.trace.select(name, "GO") if r.t_ns >= t_ns], name
        assert not any(o["active"] for o in c.call("sim.outputs").values())
        c.call("stop", reason="user")
