"""``station status`` against a running engine, and the README's LED patterns against the
code."""

from __future__ import annotations

from hardware.panel import LED_PATTERNS
from station.cli import main as cli_main
from tests.appliancekit import ROOT, tap, wait_state
from tests.engine.helpers import running_engine, steady, wait_for_event


# --- station status --------------------------------------------------------------------
def _station_status(tmp_path, capsys, *extra: str) -> str:
    assert cli_main(["status", "--data-dir", str(tmp_path), *extra]) == 0
    return capsys.readouterr().out


def test_station_status_prints_state_last_session_and_timing(tmp_path, capsys):
    with running_engine(tmp_path) as (rt, c):
        out = _station_status(tmp_path, capsys)
        assert out.startswith("state:    idle (sim, 1000 Hz; panel LEDs: idle)")
        assert "last session: none since the engine started" in out
        assert "last run timing: no run since the engine started" in out

        short = steady(ms=300)
        c.call("arm", program=short, session_id="s1")
        tap(c, "start")
        wait_for_event(rt, "stopped", session_id="s1", timeout=3)
        st = wait_state(c, "idle")
        t = st["timing"]
        assert t["ticks"] >= 250  # the run really ran at about 1 kHz for 300 ms

        lines = _station_status(tmp_path, capsys).splitlines()
        by_label = {line.split(":", 1)[0]: line for line in lines}
        assert by_label["state"].startswith("state:    idle (sim, 1000 Hz")
        assert by_label["last session"].startswith("last session: s1 ended: completed")
        ms = st["last_stop"]["program_ms"]
        assert f"at {ms / 1000:.1f} s into the program" in by_label["last session"]
        timing = by_label["last run timing"]
        for field in ("ticks", "p50_us", "p99_us", "max_us"):
            assert str(t[field]) in timing, field
        assert f"{t['missed']} missed deadlines" in timing

        c.call("arm", program=steady(ms=20000), session_id="s2")
        tap(c, "start")
        wait_state(c, "running")
        out = _station_status(tmp_path, capsys)
        assert "state:    running" in out and "panel LEDs: running" in out
        assert "program:  test level L1 (20000 ms), session s2" in out
        assert "last session: s1 ended: completed" in out  # s2 has not ended yet
        tap(c, "stop")
        wait_for_event(rt, "stopped", session_id="s2")
        out = _station_status(tmp_path, capsys)
        assert "last session: s2 ended: panel_stop by panel stop button" in out

        raw = _station_status(tmp_path, capsys, "--json")
        assert '"led": "stopped"' in raw and '"timing": {' in raw


def test_station_status_without_an_engine_says_how_to_start_it(tmp_path, capsys):
    assert cli_main(["status", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "the engine is not answering" in err and "station run" in err


def test_readme_quotes_every_led_pattern_as_the_code_has_it():
    readme = (ROOT / "README.md").read_text()
    source = (ROOT / "hardware" / "panel.py").read_text().splitlines()
    assert "## The panel" in readme
    for name in LED_PATTERNS:
        line = next(ln.strip() for ln in source if ln.strip().startswith(f'"{name}": {{'))
        assert line in readme, f"README's panel section lacks or misquotes {name!r}: {line}"
