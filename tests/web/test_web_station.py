"""Issue 7 (app side) and the protocols inbox, against the real engine on the simulator:
reminders, the daily-limit LED, a missing I2C device at boot, the app restarting while a
program plays, pause/resume and e-stop reset, and the start-up inbox import."""

from __future__ import annotations

import shutil
from datetime import datetime, time, timedelta

from station.app.coordinator import Coordinator
from station.app.engine_link import EngineLink
from station.app.status_text import engine_fields
from station.protocols import library
from station.storage import Store
from station.wiring import load_wiring
from tests.web.conftest import (
    CLIN,
    PAT,
    QUICK,
    add_users,
    engine_call,
    engine_state,
    logged_in,
    reset_engine,
    start_engine,
    use_quick_protocol,
    wait_for,
)
from web import create_app


class FakeClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _coordinator(data, engine, **kw) -> Coordinator:
    c = Coordinator(data_dir=data, simulate=True, link=EngineLink(data_dir=engine.data_dir), **kw)
    c.start_background()
    return c


def test_reminder_makes_a_session_due_until_one_starts(tmp_path, engine) -> None:
    reset_engine(engine)
    noon = datetime.combine(datetime.now().date(), time(12, 0)).astimezone()
    clock = FakeClock(noon)
    data = tmp_path / "data"
    coord = _coordinator(
        data, engine, store=Store.open(data, clock=clock), clock=clock, reminder_poll_s=0.05
    )
    try:
        wait_for(lambda: coord.status()["state"] == "armed")
        coord.update_settings({"reminder_times": ["12:30"]}, by="test")
        assert coord.reminders.check()["due"] is False  # 12:00: not yet
        assert engine.engine.idle_pattern == "idle"
        clock.now = noon + timedelta(minutes=31)
        wait_for(lambda: coord.reminders.state["due"])  # the scheduler thread saw it
        wait_for(lambda: engine.engine.idle_pattern == "due")
        add_users(coord)
        app = create_app({"TESTING": True}, coordinator=coord)
        patient = logged_in(app, PAT)
        assert "A session is due." in patient.get("/").get_data(as_text=True)
        assert patient.get("/api/status").get_json()["reminder"]["time"] == "12:30"
        coord.reminders.check()  # a second pass records nothing new
        day = noon.replace(hour=0, minute=0)
        assert len(coord.store.reminders.between(day, day + timedelta(days=1))) == 1
        # A session starts: no longer due, the LED goes back to idle.
        sid = patient.post("/api/start").get_json()["session_id"]
        wait_for(lambda: not coord.reminders.state["due"])
        assert "A session is due." not in patient.get("/").get_data(as_text=True)
        patient.post("/api/stop")
        wait_for(lambda: coord.store.sessions.get(sid).final)
        # The clinician's report shows adherence with the reminder counted.
        report = logged_in(app, CLIN).get("/clinician/report").get_data(as_text=True)
        assert "1 started" in report
        row = f"<tr><td>{noon.date().isoformat()}</td><td>3</td><td>1</td><td>0</td><td>1</td></tr>"
        assert row in report  # prescribed 3, started 1, completed 0, reminders 1
    finally:
        coord.close()


def test_limit_reached_shows_limit_on_led_and_page(patient, coord, engine) -> None:
    use_quick_protocol(coord, engine)
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: coord.store.sessions.get(sid).state == "completed", timeout=10)
    wait_for(lambda: engine.engine.idle_pattern == "limit")
    st = patient.get("/api/status").get_json()
    assert st["indicator"] == "limit" and "allowed from" in st["limit_text"]
    assert st["limit_text"] in patient.get("/").get_data(as_text=True)
    r = patient.post("/api/start")
    assert r.status_code == 409 and "allowed from" in r.get_json()["error"]["message"]


def test_missing_i2c_device_at_boot_keeps_page_up_and_refuses_start(tmp_path) -> None:
    from hardware.backend import open_hardware

    data = tmp_path / "data"
    data.mkdir()
    hw = open_hardware(load_wiring(), simulate=True, data_dir=data)
    hw.sim.inject_fault("forearm", "missing")  # the forearm driver is not on the bus
    runtime = start_engine(data, hw=hw)
    coord = Coordinator(data_dir=data, simulate=True)
    try:
        coord.start_background()
        wait_for(lambda: (coord.status()["fault"] or {}).get("device") == "forearm")
        assert engine_state(runtime)["state"] == "fault"
        add_users(coord)
        patient = logged_in(create_app({"TESTING": True}, coordinator=coord), PAT)
        page = patient.get("/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert (
            "Device &#39;forearm&#39; has a fault" in html or "Device 'forearm' has a fault" in html
        )
        r = patient.post("/api/start")
        assert r.status_code == 409 and "forearm" in r.get_json()["error"]["message"]
        outputs = engine_call(runtime, "sim.outputs")
        assert not any(o["active"] for o in outputs.values()), outputs
        assert all(s["state"] != "running" for s in coord.list_sessions(limit=10))
    finally:
        coord.close()
        runtime.close()


def test_app_restart_while_playing_keeps_program_and_record(tmp_path, engine) -> None:
    reset_engine(engine)
    data = tmp_path / "data"
    first = _coordinator(data, engine)
    wait_for(lambda: first.status()["state"] == "armed")
    use_quick_protocol(first, engine, level="quick/1")  # 4 s of vibration
    sid = first.start(by="patient:pat")["session_id"]
    wait_for(lambda: first.store.sessions.get(sid).steps)
    first.close()  # the app goes away mid-program
    assert engine_state(engine)["state"] == "running"
    second = _coordinator(data, engine)
    try:
        wait_for(lambda: second.status()["state"] == "running")
        assert second.store.sessions.get(sid).state == "running"
        wait_for(lambda: second.store.sessions.get(sid).state == "completed", timeout=10)
        s = second.store.sessions.get(sid)
        assert len(s.steps) == s.planned_steps and all(st.finished_at for st in s.steps)
    finally:
        second.close()


def test_a_status_read_before_the_replay_never_starts_the_next_session(coord, engine) -> None:
    """On reconnect the status is read, then the missed events are replayed. If the replay
    ended the playing session (and armed the next), the status still says "running" for
    the old one: the freshly armed session must not be recorded as started."""
    armed = coord.store.sessions.current()
    assert armed is not None and armed.state == "armed"
    status = engine_fields(engine_call(engine, "status"))
    stale = {**status, "state": "running", "session_id": armed.id - 1}
    coord.follower.on_connect(stale)
    assert coord.store.sessions.get(armed.id).state != "running"
    assert all(s["state"] != "running" for s in coord.list_sessions(limit=20))


def test_pause_resume_and_estop_reset(app, patient, coord, engine) -> None:
    sid = patient.post("/api/start").get_json()["session_id"]
    wait_for(lambda: engine_call(engine, "sim.outputs")["forearm"]["active"])
    html = patient.get("/").get_data(as_text=True)
    assert 'id="pause-button"' in html
    r = patient.post("/api/pause")
    assert r.status_code == 200, r.get_json()
    assert engine_state(engine)["state"] == "paused"
    wait_for(lambda: coord.store.sessions.get(sid).state == "paused")
    wait_for(lambda: not engine_call(engine, "sim.outputs")["forearm"]["active"])
    assert patient.post("/api/pause").status_code == 409
    r = patient.post("/api/resume")
    assert r.status_code == 200 and engine_state(engine)["state"] == "running"
    wait_for(lambda: coord.store.sessions.get(sid).state == "running")
    # The e-stop latches; an anonymous reset is refused, a logged-in one works.
    client = app.test_client()
    assert patient.post("/api/sim/buttons/estop/press").status_code == 200
    wait_for(lambda: engine_state(engine)["estop_latched"])
    wait_for(lambda: coord.store.sessions.get(sid).final)
    assert patient.get("/api/status").get_json()["estop_latched"] is True
    assert client.post("/api/estop/reset", headers={"X-CSRFToken": "x"}).status_code in (400, 401)
    r = patient.post("/api/estop/reset")
    assert r.status_code == 200, r.get_json()
    assert engine_state(engine)["estop_latched"] is False


def test_protocols_inbox_imported_at_start_up(tmp_path, engine) -> None:
    reset_engine(engine)
    data = tmp_path / "data"
    inbox = library.inbox_dir(data)
    inbox.mkdir(parents=True)
    shutil.copy(QUICK, inbox / "quick.toml")
    (inbox / "broken.toml").write_text('id = "broken"\nversion = 3\n')
    coord = _coordinator(data, engine)
    try:
        assert [f["id"] for f in coord.inbox()["imported"]] == ["quick"]
        assert library.get_protocol(data, "quick").id == "quick"
        assert (inbox / "imported" / "quick.toml").exists()
        add_users(coord)
        html = logged_in(create_app({"TESTING": True}, coordinator=coord), CLIN)
        page = html.get("/clinician/").get_data(as_text=True)
        assert "quick.toml: imported as quick v1.0" in page
        assert "broken.toml: rejected" in page
    finally:
        coord.close()
