"""A chip that fails while a program is armed or paused (the drivers are powered, the
fault poller reads STATUS between ticks) ends in a fault stop with every output off, and
the engine goes on serving: it must never take the loop thread down with it.

Found under load: the idle poll's HardwareError was not caught, so the loop thread died
with the drivers powered (a station that cannot be stopped from the loop any more)."""

from __future__ import annotations

import time

import pytest

from tests.engine.helpers import running_engine, steady, wait_for_event


@pytest.mark.parametrize(("paused", "kind"), [(False, "nack"), (False, "over_temp"),
                                              (True, "nack")])  # fmt: skip
def test_a_chip_failing_while_armed_or_paused_is_a_fault_stop(tmp_path, paused, kind):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=steady("forearm", ms=20000), session_id="idle")
        if paused:
            c.call("start")
            wait_for_event(rt, "started")
            c.call("pause")
            wait_for_event(rt, "state", state="paused")
        c.call("sim.fault", device="hand", kind=kind)  # hand is powered but not played
        fault = wait_for_event(rt, "fault", timeout=5)
        wait_for_event(rt, "stopped", timeout=5, reason="fault")
        assert fault["device"] == "hand"
        assert rt._thread is not None and rt._thread.is_alive()  # the loop lives on
        status = c.call("status")  # the loop still answers
        assert status["state"] == "fault"
        assert not any(o["active"] for o in c.call("sim.outputs").values())
        c.call("sim.clear_faults")
        c.call("arm", program=steady("forearm", ms=300), session_id="again")
        c.call("start")
        wait_for_event(rt, "stopped", timeout=10, reason="completed")
        time.sleep(0.05)
        assert c.call("status")["state"] == "idle"
