"""``store.thresholds``: history kept, a detection threshold set in the plan atomically."""

from __future__ import annotations

import json

import pytest

from station.errors import InvalidInput
from station.storage import Store


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as s:
        s.plans.set("p", "1", levels={"main": 0}, settings={"intensity_percent": 80})
        yield s


def test_detection_sets_the_plan_and_keeps_history(store):
    store.thresholds.add(actuator="hand", kind="detection", value=0.3, method="m", trials=20)
    store.thresholds.add(actuator="hand", kind="detection", value=0.25, method="m", trials=18)
    settings = store.plans.get().settings
    assert settings["detection_thresholds"] == {"hand": 0.25}
    assert settings["intensity_percent"] == 80  # the rest of the settings untouched
    assert [t.value for t in store.thresholds.history(actuator="hand")] == [0.25, 0.3]
    assert store.thresholds.latest("detection")["hand"].value == 0.25


def test_tolerance_is_only_recorded(store):
    store.thresholds.add(actuator="hand", kind="tolerance", value=0.4, method="m", trials=6)
    assert "detection_thresholds" not in store.plans.get().settings
    assert store.thresholds.latest("tolerance")["hand"].value == 0.4


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("value", {"value": 0.0}),
        ("value", {"value": 1.5}),
        ("value", {"value": float("nan")}),
        ("kind", {"kind": "pain"}),
        ("trials", {"trials": -1}),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(store, field, kw):
    args = {"actuator": "hand", "kind": "detection", "value": 0.3, "method": "m", "trials": 3}
    with pytest.raises(InvalidInput) as err:
        store.thresholds.add(**{**args, **kw})
    assert err.value.field == field
    assert store.thresholds.history() == []
    assert "detection_thresholds" not in json.loads(json.dumps(store.plans.get().settings))
