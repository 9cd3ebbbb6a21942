"""`station protocol ...` end to end through the real argument parser."""

from __future__ import annotations

import json
from pathlib import Path

from station.cli import main
from station.protocols.library import builtin_paths


def test_validate_builtins_exit_zero(capsys):
    assert main(["protocol", "validate", *map(str, builtin_paths())]) == 0
    assert capsys.readouterr().out.count(": ok") == len(builtin_paths())


def test_validate_rejects_broken_copies(tmp_path: Path, capsys):
    src = builtin_paths()[0]
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(src.read_text() + "\nsurprise = 1\n")
    garbage = tmp_path / "garbage.toml"
    garbage.write_text(src.read_text() + "\n@@@\n")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    for bad, words in ((unknown, "surprise"), (garbage, "not valid TOML"), (empty, "empty")):
        assert main(["protocol", "validate", str(src), str(bad)]) != 0
        err = capsys.readouterr().err
        assert str(bad) in err and words in err


def test_import_list_show_schema(tmp_path: Path, capsys):
    data = str(tmp_path / "data")
    assert main(["protocol", "import", "--data-dir", data, "--builtin"]) == 0
    assert main(["protocol", "list", "--data-dir", data]) == 0
    assert "ct-brushing" in capsys.readouterr().out
    assert main(["protocol", "show", "ct-brushing", "--level", "1", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "ladder 'brushing'" in out and "00:00-" in out and "brush " in out and "cm/s" in out
    assert main(["protocol", "show", "textures", "--level", "0", "--data-dir", data]) == 0
    assert "Rub a feather" in capsys.readouterr().out
    assert main(["protocol", "show", "missing", "--data-dir", data]) == 1
    assert main(["protocol", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Station protocol"
