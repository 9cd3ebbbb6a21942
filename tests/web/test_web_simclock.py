"""The simulated clock (``/api/sim/clock``, ``station sim clock``) and progression that
counts the answers to a protocol's own rating steps, with the real engine on the simulator.

The quick test protocol (``quick.toml``) has no ``[progression]`` numbers of its own, so
the model's documented defaults apply: a session qualifies at a counted (max) rating of at
most 3, three qualifying sessions over at least one day move up, 120 minutes between
sessions, three a day.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from station.cli import main
from tests.web.conftest import use_quick_protocol, wait_for

GAP_S = 2 * 3600 + 60  # past the quick protocol's 120 minutes between sessions


def _clock(client) -> dict:
    r = client.get("/api/sim/clock")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_clock_jumps_forward_for_the_whole_app(app, patient, coord) -> None:
    before = datetime.fromisoformat(_clock(app.test_client())["now"])  # open, like /api/sim
    r = patient.post("/api/sim/clock", json={"advance_s": 3 * 86400})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["rate"] == 1 and body["advanced_s"] == 3 * 86400
    now = datetime.fromisoformat(body["now"])
    assert timedelta(days=3) <= now - before < timedelta(days=3, minutes=1)
    # The Store, the planner and the record read the same clock.
    assert abs(coord.store.now() - now) < timedelta(seconds=30)
    assert abs(coord.planner.now() - now) < timedelta(seconds=30)
    assert coord.store.journal.add("after the jump").at >= now - timedelta(seconds=1)


def test_clock_changes_are_validated_and_need_the_csrf_token(app, patient) -> None:
    for body in ({"advance_s": -1}, {"rate": 0.5}, {"rate": 5000}, {"advance_s": "1"}, {"x": 1}):
        r = patient.post("/api/sim/clock", json=body)
        assert r.status_code == 422, (body, r.get_json())
    r = app.test_client().post("/api/sim/clock", json={"advance_s": 60})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "X-CSRFToken"


def test_fast_clock_runs_the_engine_as_fast(patient, coord, engine) -> None:
    r = patient.post("/api/sim/clock", json={"rate": 100})
    assert r.status_code == 200 and r.get_json()["rate"] == 100
    assert engine.engine.time_scale == 100
    a = coord.store.now()
    time.sleep(0.2)
    assert coord.store.now() - a >= timedelta(seconds=15)
    patient.post("/api/sim/clock", json={"rate": 1})
    assert engine.engine.time_scale == 1


def _paused(patient) -> dict | None:
    st = patient.get("/api/status").get_json()
    both = st["state"] == "paused" and (st["session"] or {}).get("state") == "paused"
    return st if both else None


def _play_quick(patient, coord, *, answer: int | None) -> int:
    """One quick session on a fast clock: the engine waits at the rate step; the patient
    answers it (or does not, and the session goes on) and it completes."""
    st = patient.get("/api/status").get_json()
    assert st["next"]["allowed"], st["next"]
    patient.post("/api/sim/clock", json={"rate": 4})
    sid = patient.post("/api/start").get_json()["session_id"]
    st = wait_for(lambda: _paused(patient), timeout=10)
    assert st["step"]["kind"] == "rate", st
    if answer is not None:
        r = patient.post("/api/ratings", json={"value": answer})
        assert r.status_code == 201 and r.get_json()["live"] is False, r.get_json()
    assert patient.post("/api/resume").status_code == 200
    wait_for(lambda: coord.store.sessions.get(sid).decision is not None, timeout=10)
    patient.post("/api/sim/clock", json={"rate": 1})
    return sid


def test_rate_step_answers_count_and_late_ratings_re_decide(patient, coord, engine) -> None:
    use_quick_protocol(coord, engine)
    # 1: answered at the rate step: an after-step rating for that step, and it counts.
    s1 = _play_quick(patient, coord, answer=1)
    rec = coord.store.sessions.get(s1)
    assert [(x.value, x.live, x.step_index) for x in rec.ratings] == [(1, False, 1)]
    assert rec.decision.action == "hold" and "1 of 3 qualifying" in rec.decision.reason
    # 2: not answered in the session: hold for want of a rating ...
    patient.post("/api/sim/clock", json={"advance_s": GAP_S})
    s2 = _play_quick(patient, coord, answer=None)
    assert "no discomfort rating" in coord.store.sessions.get(s2).decision.reason
    # ... until the patient rates it just after: the decision is taken again, with its
    # reason and what it was.
    r = patient.post("/api/ratings", json={"value": 2})
    assert r.status_code == 201 and r.get_json()["session_id"] == s2
    d2 = coord.store.sessions.get(s2).decision
    assert d2.action == "hold" and "2 of 3 qualifying" in d2.reason
    assert "(was hold: the last session has no discomfort rating" in d2.reason
    # 3: a late rating that completes the run moves the plan up, and the next session is
    # armed at the new level.
    patient.post("/api/sim/clock", json={"advance_s": GAP_S})
    s3 = _play_quick(patient, coord, answer=None)
    patient.post("/api/ratings", json={"value": 0})
    d3 = coord.store.sessions.get(s3).decision
    assert (d3.action, d3.from_level, d3.to_level) == ("advance", 0, 1), d3
    assert coord.store.plans.get().levels["quick"] == 1
    changes = coord.store.progress.level_history("quick")
    assert changes[-1].to_level == 1 and changes[-1].session_id == s3
    patient.post("/api/sim/clock", json={"advance_s": GAP_S})
    assert patient.get("/api/status").get_json()["next"]["level_index"] == 1
    # Two hours on, the rating window of the last session is over: refused, nothing changes.
    assert patient.post("/api/ratings", json={"value": 9}).status_code == 409


@pytest.mark.slow
def test_cli_reads_and_moves_the_running_apps_clock(app, capsys) -> None:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        assert main(["sim", "clock", "--url", url]) == 0
        assert "rate 1x" in capsys.readouterr().out
        assert main(["sim", "clock", "--advance", "2d", "--url", url]) == 0
        out = capsys.readouterr().out
        assert "moved on 172800 s" in out, out
        with pytest.raises(SystemExit) as refused:  # argparse: not a duration
            main(["sim", "clock", "--advance", "soon", "--url", url])
        assert refused.value.code == 2
    finally:
        server.shutdown()
        thread.join(5)
    assert main(["sim", "clock", "--url", "http://127.0.0.1:9"]) == 1
