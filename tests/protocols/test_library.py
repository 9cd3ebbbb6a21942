"""The on-disk library: versioned imports, refusals, drop folder, web text imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.errors import ConfigError, Conflict, NotFound
from station.protocols.library import (
    builtin_paths,
    find_protocol,
    get_protocol,
    import_drop_folder,
    import_file,
    import_text,
    inbox_dir,
    install_builtins,
    list_protocols,
)
from station.protocols.load import protocol_hash

TAPPING = next(p for p in builtin_paths() if p.name == "tapping.toml")


def test_import_versions_and_refuses_changed_same_version(tmp_path: Path, wiring):
    data = tmp_path / "data"
    r = import_file(data, TAPPING, wiring=wiring)
    assert r.status == "imported" and r.path.read_text() == TAPPING.read_text()
    assert import_file(data, TAPPING).status == "unchanged"
    changed = TAPPING.read_text().replace("duration_s = 180", "duration_s = 170")
    with pytest.raises(Conflict, match="new version"):
        import_text(data, changed, fmt="toml", source="changed.toml")
    newer = changed.replace('version = "1.0"', 'version = "1.1"')
    r2 = import_text(data, newer, fmt="toml", source="newer.toml")
    assert r2.status == "imported" and r2.hash != r.hash
    versions = [s.version for s in list_protocols(data, include_builtin=False) if s.id == "tapping"]
    assert versions == ["1.0", "1.1"]
    assert find_protocol(data, "tapping").version == "1.1"
    assert get_protocol(data, "tapping", "1.0").version == "1.0"
    meta = json.loads((data / "protocols" / "tapping" / "1.0.meta.json").read_text())
    assert meta["hash"] == r.hash


def test_invalid_imports_store_nothing(tmp_path: Path, wiring):
    data = tmp_path / "data"
    bad = TAPPING.read_text().replace('actuators = ["hand"]', 'actuators = ["elbow"]')
    for text in ("", "not = [toml", bad):
        with pytest.raises(ConfigError):
            import_text(data, text, fmt="toml", source="web", wiring=wiring)
    assert list_protocols(data, include_builtin=False) == []


def test_json_upload_same_hash_as_toml(tmp_path: Path):
    data = tmp_path / "data"
    r = import_file(data, TAPPING)
    p = get_protocol(data, "tapping")
    text = json.dumps(p.model_dump(mode="json"))
    again = import_text(data, text, fmt="json", source="web")
    assert again.status == "unchanged" and again.hash == r.hash == protocol_hash(p)


def test_drop_folder(tmp_path: Path, wiring):
    data = tmp_path / "data"
    inbox = inbox_dir(data)
    assert import_drop_folder(data).imported == [] and inbox.is_dir()
    (inbox / "good.toml").write_text(TAPPING.read_text())
    (inbox / "empty.toml").write_text("")
    (inbox / "notes.txt").write_text("hello")
    report = import_drop_folder(data, wiring=wiring)
    assert [name for name, _ in report.imported] == ["good.toml"]
    assert sorted(name for name, _ in report.rejected) == ["empty.toml", "notes.txt"]
    assert (inbox / "imported" / "good.toml").is_file() and not (inbox / "good.toml").exists()
    assert "empty" in (inbox / "empty.toml.error.txt").read_text()
    assert (inbox / "empty.toml").exists()
    assert find_protocol(data, "tapping").builtin is False


def test_builtins_listed_and_installable(tmp_path: Path):
    data = tmp_path / "data"
    listed = list_protocols(data)
    assert len(listed) >= 5 and all(s.builtin for s in listed)
    report = install_builtins(data)
    assert not report.rejected and len(report.imported) == len(builtin_paths())
    assert not any(s.builtin for s in list_protocols(data))
    with pytest.raises(NotFound, match="no protocol 'nope'"):
        find_protocol(data, "nope")
