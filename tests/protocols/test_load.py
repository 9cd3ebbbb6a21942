"""Validation: built-ins pass; every kind of bad input is refused with file, path, value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.errors import ConfigError
from station.protocols.library import builtin_paths
from station.protocols.load import (
    MAX_BYTES,
    canonical_json,
    load_file,
    load_text,
    protocol_hash,
    validate_data,
)
from station.protocols.model import protocol_json_schema

BUILTINS = builtin_paths()


def _problems(exc: pytest.ExceptionInfo[ConfigError]) -> dict[str, str]:
    return {p.path: p.message for p in exc.value.problems}


def test_library_has_the_five_programmes():
    ids = {load_file(p).id for p in BUILTINS}
    assert {"vibration-ladder", "ct-brushing", "tapping", "textures", "distant-site"} <= ids


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.name)
def test_builtin_is_valid_against_default_wiring(path: Path, wiring):
    protocol = load_file(path, wiring=wiring)
    assert protocol.ladders
    assert "# " in path.read_text()  # commented: says where its numbers come from


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.name)
def test_builtin_with_unknown_key_is_rejected(path: Path, tmp_path: Path):
    bad = tmp_path / path.name
    bad.write_text(path.read_text().replace("\n[caps]\n", "\n[caps]\nmax_intensty = 3\n", 1))
    with pytest.raises(ConfigError) as exc:
        load_file(bad)
    assert str(bad) in str(exc.value)
    assert "caps.max_intensty" in _problems(exc)
    assert "unknown key" in _problems(exc)["caps.max_intensty"]


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.name)
def test_builtin_with_garbage_or_emptied_is_rejected(path: Path, tmp_path: Path):
    garbage = tmp_path / ("g-" + path.name)
    garbage.write_text(path.read_text() + "\n}}} not toml [[\n")
    empty = tmp_path / ("e-" + path.name)
    empty.write_text("")
    for bad, words in ((garbage, "not valid TOML"), (empty, "empty")):
        with pytest.raises(ConfigError) as exc:
            load_file(bad)
        assert str(bad) in str(exc.value) and words in str(exc.value)


def test_all_problems_at_once_with_paths_and_values(base):
    step = base["ladders"][0]["levels"][0]["steps"][0]
    step["duration_s"] = "long"
    step["intensity"] = {"percent": 150}
    base["caps"]["sessions_per_day"] = 0
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="x.toml")
    probs = _problems(exc)
    assert "ladders[0].levels[0].steps[0].duration_s" in probs
    assert "ladders[0].levels[0].steps[0].intensity.percent" in probs
    assert "caps.sessions_per_day" in probs
    rendered = str(exc.value)
    assert "x.toml: ladders[0].levels[0].steps[0].intensity.percent = 150" in rendered


def test_above_own_cap_names_cap(base):
    base["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"percent": 70}
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    msg = _problems(exc)["ladders[0].levels[0].steps[0].intensity.percent"]
    assert "max_intensity_percent (60)" in msg


def test_brush_speed_above_cap_and_duplicate_level_names(base):
    base["ladders"][0]["levels"][1]["steps"][0]["speed_cm_s"] = 12
    base["ladders"][0]["levels"][1]["name"] = "one"
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    probs = _problems(exc)
    assert "max_brush_speed_cm_s" in probs["ladders[0].levels[1].steps[0].speed_cm_s"]
    assert "duplicate" in probs["ladders[0].levels[1].name"]


def test_unknown_effect_suggests(base):
    base["ladders"][0]["levels"][1]["steps"][1]["effect"] = "Soft Bunp - 60%"
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    assert "Soft Bump - 60%" in _problems(exc)["ladders[0].levels[1].steps[1].effect"]


def test_effect_stronger_than_cap(base):
    base["ladders"][0]["levels"][1]["steps"][1]["effect"] = 1  # Strong Click - 100%
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    assert "100 %" in _problems(exc)["ladders[0].levels[1].steps[1].effect"]


def test_unknown_actuators_need_wiring(base, wiring):
    base["ladders"][0]["levels"][0]["steps"][0]["actuators"] = ["knee"]
    base["ladders"][0]["levels"][1]["steps"][0]["actuator"] = "forearm"  # a haptic, not a brush
    validate_data(base, source="f")  # structurally fine without wiring
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f", wiring=wiring)
    probs = _problems(exc)
    assert "knee" not in probs and "ladders[0].levels[0].steps[0].actuators[0]" in probs
    assert "no brush" in probs["ladders[0].levels[1].steps[0].actuator"]


def test_brush_speed_and_stroke_against_calibration(base, wiring):
    step = base["ladders"][0]["levels"][1]["steps"][0]
    step["speed_cm_s"] = 0.1  # below the brush's calibrated 0.3 cm/s
    step["stroke_cm"] = 20  # the default brush travels 11.2 cm
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f", wiring=wiring)
    probs = _problems(exc)
    assert "calibrated range" in probs["ladders[0].levels[1].steps[0].speed_cm_s"]
    assert "travel" in probs["ladders[0].levels[1].steps[0].stroke_cm"]


def test_avoided_site_and_ranked_items_need_ids(base):
    base["ladders"][0]["levels"][0]["steps"][0]["site"] = "palm"
    base["ladders"][0]["ranked_by_patient"] = True
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    probs = _problems(exc)
    assert "avoid_sites" in probs["ladders[0].levels[0].steps[0].site"]
    assert "ladders[0].levels[0].id" in probs


def test_level_longer_than_session_cap(base):
    base["ladders"][0]["levels"][0]["steps"][0]["duration_s"] = 900
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    assert "max_session_minutes" in _problems(exc)["ladders[0].levels[0]"]


def test_intensity_needs_exactly_one_kind(base):
    base["ladders"][0]["levels"][0]["steps"][0]["intensity"] = {"percent": 10, "times_threshold": 2}
    with pytest.raises(ConfigError) as exc:
        validate_data(base, source="f")
    assert "exactly one" in _problems(exc)["ladders[0].levels[0].steps[0].intensity"]


def test_huge_and_non_utf8_and_non_object(tmp_path: Path):
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(ConfigError, match="too big"):
        load_file(huge)
    with pytest.raises(ConfigError, match="UTF-8"):
        load_text(b"\xff\xfe id = 1", fmt="toml", source="b")
    with pytest.raises(ConfigError, match="JSON object"):
        load_text("[1, 2]", fmt="json", source="j")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_text("{", fmt="json", source="j")


def test_json_is_the_same_model_and_hash_ignores_comments(base):
    a = load_text(json.dumps(base), fmt="json", source="web")
    b = validate_data(base, source="dict")
    assert protocol_hash(a) == protocol_hash(b)
    toml = BUILTINS[0].read_text()
    c, d = (
        load_text(toml, fmt="toml", source="a"),
        load_text("# another comment\n" + toml, fmt="toml", source="b"),
    )
    assert protocol_hash(c) == protocol_hash(d)
    assert json.loads(canonical_json(a))["id"] == "test-proto"


def test_effect_names_are_stored_as_ids(base):
    p = validate_data(base, source="f")
    assert p.ladders[0].levels[1].steps[1].effect == 8  # Soft Bump - 60%


def test_json_schema_exports_and_forbids_unknown_keys():
    schema = protocol_json_schema()
    assert schema["additionalProperties"] is False
    assert "Caps" in schema["$defs"] and "VibrateStep" in schema["$defs"]
    json.dumps(schema)
