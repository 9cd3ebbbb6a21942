"""A program the REAL engine refuses is the station's fault: the page shows the banner
with the engine's own words, and every start is refused naming it.

The app here is configured as if with another wiring file than the engine: its programs
name a vibration motor ("elbow") the engine has no driver for. The engine's last check
before hardware (``station.engine.player.check_program``) refuses the arm; before issue 11
that refusal was swallowed (``EngineRefused`` was never raised), the station showed
"Nothing armed" and a start said only "not allowed".
"""

from __future__ import annotations

import copy
from typing import Any

from station.app.coordinator import Coordinator
from station.app.engine_link import EngineLink, EngineRefused
from tests.web.conftest import (
    PAT,
    add_users,
    engine_call,
    engine_state,
    logged_in,
    reset_engine,
    wait_for,
)
from web import create_app

ENGINE_SAYS = "no haptic driver of that name"


class ElsewhereWiredLink(EngineLink):
    """Every armed program names an actuator the engine does not have."""

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        if method == "arm" and params:
            program = copy.deepcopy(params["program"])
            for step in program["steps"]:
                for seg in step["segments"]:
                    if seg.get("kind") != "brush":
                        seg["actuator"] = "elbow"
            params = {**params, "program": program}
        return super().call(method, params, timeout=timeout)


def test_a_refused_program_shows_the_fault_banner_and_refuses_start(tmp_path, engine) -> None:
    reset_engine(engine)
    coord = Coordinator(
        data_dir=tmp_path / "data", simulate=True, link=ElsewhereWiredLink(data_dir=engine.data_dir)
    )
    try:
        coord.start_background()
        status = wait_for(lambda: (s := coord.status())["fault"] and s)
        assert status["fault"]["device"] is None
        assert ENGINE_SAYS in status["fault"]["message"]
        assert ENGINE_SAYS in status["fault_text"]
        assert engine_state(engine)["state"] != "armed"  # the engine armed nothing

        # The refused session is in the record as stopped, saying why.
        ended = coord.store.sessions.latest(limit=5)
        assert ended and ended[0].state == "stopped"
        assert "refused to arm" in (ended[0].end_reason or "")

        add_users(coord)
        patient = logged_in(create_app({"TESTING": True}, coordinator=coord), PAT)
        api = patient.get("/api/status").get_json()
        assert ENGINE_SAYS in api["fault_text"]
        html = patient.get("/").get_data(as_text=True)
        assert 'id="fault-banner"' in html and ENGINE_SAYS in html

        r = patient.post("/api/start")
        assert r.status_code == 409
        assert ENGINE_SAYS in r.get_json()["error"]["message"]
        outputs = engine_call(engine, "sim.outputs")
        assert not any(o["active"] for o in outputs.values()), outputs
        assert all(s["state"] != "running" for s in coord.list_sessions(limit=10))
    finally:
        coord.close()


def test_the_link_raises_engine_refused_with_the_engines_code(engine) -> None:
    reset_engine(engine)
    link = EngineLink(data_dir=engine.data_dir)
    try:
        try:
            link.call("start", {"session_id": "nothing-armed"})
        except EngineRefused as exc:
            assert exc.method == "start" and exc.code == "not_armed"
            assert "nothing armed" in str(exc)
        else:
            raise AssertionError("the engine started with nothing armed")
    finally:
        link.close()
