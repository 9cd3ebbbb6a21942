"""The engine's IPC methods reject bad parameters with a clear error, never a traceback.

The contract (ARCHITECTURE.md, safety principle 5, and the IPC shape
``{"error": {"code", "message"}}``): a bad request gets code ``bad_params`` and a message
naming the parameter, the value given and what is allowed. The expected texts below are
written from that contract (the value as the caller sent it, the allowed values as the
documentation lists them), not copied from the implementation's output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from station.engine.ipc import EngineClient, RemoteError
from station.engine.registry import NoParams, Params, Registry
from station.errors import EngineError
from tests.engine.helpers import running_engine, steady


class _Echo(Params):
    count: int
    mode: str = "a"


def _registry(simulated: bool = True) -> Registry:
    r = Registry(simulated=simulated)
    r.register("echo", _Echo, lambda q: {"count": q.count, "mode": q.mode})
    r.register("ping", NoParams, lambda _: "pong")
    r.register("sim.poke", NoParams, lambda _: "poked", sim_only=True)
    return r


def _refused(fn: Any, *args: Any) -> EngineError:
    with pytest.raises(EngineError) as info:
        fn(*args)
    return info.value


def test_a_valid_request_reaches_its_handler_as_a_typed_model():
    assert _registry()("echo", {"count": 3}) == {"count": 3, "mode": "a"}
    assert _registry()("ping", {}) == "pong"


def test_a_wrong_type_names_the_parameter_and_the_value_and_is_not_coerced():
    err = _refused(_registry(), "echo", {"count": "3"})
    assert err.code == "bad_params"
    assert "echo" in str(err) and "count" in str(err) and "'3'" in str(err)
    assert "integer" in str(err)  # what is allowed
    err = _refused(_registry(), "echo", {"count": True})  # a JSON true is not 1
    assert err.code == "bad_params" and "count = True" in str(err)


def test_an_unknown_parameter_is_refused_naming_it_and_what_the_method_takes():
    err = _refused(_registry(), "echo", {"count": 1, "cuont": 2})
    assert err.code == "bad_params"
    assert "cuont" in str(err) and "count" in str(err) and "mode" in str(err)
    err = _refused(_registry(), "ping", {"x": 1})
    assert err.code == "bad_params" and "'x'" not in str(err) and "x = 1" in str(err)


def test_a_missing_parameter_is_named():
    err = _refused(_registry(), "echo", {})
    assert err.code == "bad_params" and "count" in str(err) and "missing" in str(err)


def test_unknown_methods_and_simulator_methods_on_hardware_have_their_own_codes():
    err = _refused(_registry(), "ehco", {})
    assert err.code == "unknown_method" and "ehco" in str(err) and "echo" in str(err)
    err = _refused(_registry(simulated=False), "sim.poke", {})
    assert err.code == "not_simulated" and "sim.poke" in str(err)
    assert "sim.poke" not in str(_refused(_registry(simulated=False), "nope", {}))


def test_a_method_is_registered_once():
    r = _registry()
    with pytest.raises(ValueError, match="echo"):
        r.register("echo", NoParams, lambda _: None)


# --- through the real socket: the wire's error shape, for the engine's own methods --------
BAD = [
    # (method, params, the parameter, the value as sent, a word of what is allowed)
    ("stop", {"reason": "because"}, "reason", "'because'", "too_much"),
    ("rate", {"value": 11}, "value", "11", "10"),
    ("rate", {"value": "5"}, "value", "'5'", "integer"),
    ("rate", {"value": 4.0}, "value", "4.0", "integer"),
    ("set_indicator", {"pattern": "party"}, "pattern", "'party'", "limit"),
    ("events", {"since": -1}, "since", "-1", "0"),
    ("sim.stall", {"ms": 0}, "ms", "0", "greater than 0"),
    ("sim.stall", {"ms": 5, "spin": "yes"}, "spin", "'yes'", "boolean"),
    ("sim.trace", {"limit": 0}, "limit", "0", "1"),
    ("calibrate", {"actuator": None}, "actuator", "None", "haptic actuator"),
    ("start", {"session_id": [1]}, "session_id", "[1]", "string"),
    ("status", {"verbose": True}, "verbose", "True", "no parameters"),
]


def test_bad_params_over_ipc_name_parameter_value_and_allowed(tmp_path):
    """One engine for every case (an engine per case would cost a second each)."""
    with running_engine(tmp_path) as (_rt, c):
        for method, params, name, value, allowed in BAD:
            with pytest.raises(RemoteError) as info:
                c.call(method, params)
            err = info.value
            text = f"{method} {params}: {err.code}: {err}"
            assert err.code == "bad_params", text
            assert f"{name} = {value}" in str(err), text
            assert allowed in str(err), text
            assert "Traceback" not in str(err), text
        assert c.call("status")["state"] == "idle"  # nothing happened


def test_a_bad_program_names_the_field_inside_it(tmp_path):
    prog = steady(ms=1000)
    prog["steps"][0]["segments"][0]["level"] = 1.5
    with running_engine(tmp_path) as (_rt, c):
        with pytest.raises(RemoteError) as info:
            c.call("arm", program=prog, session_id="bad")
        text = str(info.value)
        assert info.value.code == "bad_params"
        assert "level" in text and "1.5" in text and "1" in text, text
        assert c.call("status")["state"] == "idle"


def test_the_old_stop_reason_api_is_the_one_spelling_user(tmp_path):
    with running_engine(tmp_path) as (_rt, c):
        c.call("arm", program=steady(ms=2000), session_id="old")
        assert c.call("stop", reason="api", by="an old client")["stopped"] is True
        assert c.call("status")["last_stop"]["reason"] == "user"


def test_a_raw_malformed_line_gets_the_error_shape(tmp_path):
    with running_engine(tmp_path) as (rt, _c), EngineClient(rt.socket_path) as c:
        c._sock.sendall(b'{"method": "rate", "params": {"value": "x"}, "id": 7}\n')
        reply = c._read()
    assert reply is not None and reply["id"] == 7
    assert set(reply["error"]) == {"code", "message"}
    assert reply["error"]["code"] == "bad_params"
    json.dumps(reply)  # plain JSON, no exception object
