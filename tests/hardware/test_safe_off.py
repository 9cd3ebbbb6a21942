"""``station safe-off``: EN low first through a minimal path, then RTP 0 and standby over
I2C, then the brush parked by real pulses and detached. The order is read from the
simulator's trace; the minimal path's imports from a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hardware.trace import Trace
from station import en_off
from station.commands.safe_off import run_safe_off
from station.wiring import load_wiring

ROOT = Path(__file__).resolve().parents[2]
# What the minimal path must not load: validation, gpiozero, the Adafruit/Blinka stack,
# the station's own heavy modules.
HEAVY = (
    "pydantic",
    "gpiozero",
    "adafruit_drv2605",
    "adafruit_tca9548a",
    "adafruit_blinka",
    "busio",
    "board",
    "flask",
    "station.wiring",
    "station.errors",
    "station.cli",
    "hardware.backend",
    "hardware.haptics",
)


def i2c_write(record, haptics: set[str]) -> bool:
    """A DRV2605 register write (not its EN pin) or a TCA9548A channel select."""
    return (record.device in haptics and record.what != "EN") or record.what == "select"


def test_en_low_before_any_i2c_then_park_pulse_then_detach(tmp_path):
    wiring = load_wiring(None)
    trace = Trace()
    slept: list[tuple[int, float]] = []
    lines: list[str] = []
    problems = run_safe_off(
        None,
        simulate=True,
        data_dir=tmp_path,
        trace=trace,
        sleep=lambda s: slept.append((trace.last_seq(), s)),
        report=lines.append,
    )
    assert problems == [] and lines == []
    records = list(trace)
    haptics = {h.name for h in wiring.haptic}
    en_pins = {f"gpio{h.enable_pin}" for h in wiring.haptic}  # 17, 27, 22, 23 by default
    assert len(en_pins) == 4

    # 1. the first records are every EN line driven low, before any I2C transaction
    first_i2c = next(i for i, r in enumerate(records) if i2c_write(r, haptics))
    head = records[: len(en_pins)]
    assert {r.device for r in head} == en_pins and {r.value for r in head} == {0}
    assert all(r.what == "pin" for r in head)
    assert len(head) < first_i2c

    # 2. then the full path: RTP 0 and standby to every driver over I2C, each through its
    # mux channel (the chips are in shutdown with EN low, so the mux selects are what the
    # trace shows of those transactions: at least RTP 0 and MODE standby per driver)
    brush_on = next(
        r.seq for r in records if r.device == wiring.brush[0].name and r.what == "enable"
        and r.value == 1
    )
    selects = [r.value for r in records if r.what == "select" and r.seq < brush_on]
    for h in wiring.haptic:
        assert selects.count(1 << h.channel) >= 2, (h.name, selects)

    # 3. the brush: park pulse set, pulses on, a moment, pulses off
    cfg = wiring.brush[0]
    span = cfg.pulse_max_us - cfg.pulse_min_us
    park_ns = round((cfg.pulse_min_us + cfg.park_angle_deg / cfg.servo_range_deg * span) * 1000)
    brush = [r for r in records if r.device == cfg.name]
    enable_on = next(r for r in brush if r.what == "enable" and r.value == 1)
    park = [r for r in brush if r.what == "duty_cycle_ns" and r.value == park_ns]
    assert park and park[0].seq < enable_on.seq  # the pulse width is set before pulses start
    enable_off = next(
        r for r in brush if r.what == "enable" and r.value == 0 and r.seq > enable_on.seq
    )
    assert brush[-1] == enable_off  # detached at the end, nothing after
    assert [s for seq, s in slept if enable_on.seq <= seq < enable_off.seq] == [
        pytest.approx(0.3)
    ]  # held at park for a moment between pulses on and off


def test_the_minimal_path_imports_only_the_gpio_library(tmp_path):
    """A fresh interpreter runs the minimal path on 'hardware' (a fake lgpio and a fake
    Pi 5 tree) and reports its calls and which heavy modules got loaded."""
    config = tmp_path / "w.toml"
    config.write_text(
        '[[haptic]]\nname = "a"\nenable_pin = 17\n\n[[haptic]]\nname = "b"\nenable_pin = 27\n'
    )
    tree = tmp_path / "pi"
    gdev = tree / "sys" / "devices" / "rp1" / "gpiochip0"
    (gdev / "gpio" / "gpiochip571").mkdir(parents=True)
    (gdev / "gpio" / "gpiochip571" / "label").write_text("pinctrl-rp1\n")
    (tree / "sys" / "bus" / "gpio" / "devices").mkdir(parents=True)
    (tree / "sys" / "bus" / "gpio" / "devices" / "gpiochip0").symlink_to(gdev)
    (tree / "dev").mkdir()
    (tree / "dev" / "gpiochip0").write_text("")
    script = textwrap.dedent(
        f"""
        import json, sys, types
        calls = []
        lg = types.ModuleType("lgpio")
        lg.gpiochip_open = lambda n: calls.append(["open", n]) or 7
        lg.gpio_claim_output = lambda h, pin, level: calls.append(["claim_output", h, pin, level])
        lg.gpio_free = lambda h, pin: calls.append(["free", h, pin])
        lg.gpiochip_close = lambda h: calls.append(["close", h])
        sys.modules["lgpio"] = lg
        from pathlib import Path
        from station import en_off
        from hardware.pi import PiPaths
        root = Path({str(tree)!r})
        paths = PiPaths(sys=root / "sys", dev=root / "dev", device_tree=root / "dt")
        problems = en_off.en_low_first(Path({str(config)!r}), simulate=False, paths=paths)
        heavy = sorted(m for m in sys.modules if m in {list(HEAVY)!r}
                       or m.split(".")[0] in {list(HEAVY)!r})
        print(json.dumps({{"calls": calls, "problems": problems, "heavy": heavy}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["problems"] == []
    assert got["heavy"] == []
    assert got["calls"] == [
        ["open", 0],
        ["claim_output", 7, 17, 0],
        ["free", 7, 17],
        ["claim_output", 7, 27, 0],
        ["free", 7, 27],
        ["close", 7],
    ]


def test_the_console_entry_runs_en_low_before_pydantic_loads(tmp_path):
    """``station safe-off`` through ``station.launcher``: in the import-time log (one line
    per finished import, in order) the minimal path is loaded before pydantic is."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "station.launcher", "safe-off", "--sim",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "every output is off" in out.stdout
    names = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line]
    assert "station.en_off" in names and "pydantic" in names
    assert names.index("station.en_off") < names.index("pydantic")
    assert names.index("station.en_off") < names.index("station.cli")


def test_en_pins_come_from_the_wiring_file_and_bad_ones_are_named(tmp_path):
    assert en_off.en_pins(None) == sorted(h.enable_pin for h in load_wiring(None).haptic)
    bad = tmp_path / "w.toml"
    bad.write_text('[[haptic]]\nname = "a"\nenable_pin = 40\n')
    with pytest.raises(ValueError, match=r"haptic\[0\]\.enable_pin = 40: must be a BCM GPIO"):
        en_off.en_pins(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[haptic]\n")
    problems = en_off.en_low_first(broken, simulate=True)
    assert len(problems) == 1 and "cannot read the EN pins" in problems[0]


def test_a_failing_line_is_reported_and_the_others_still_go_low(tmp_path):
    calls: list[tuple] = []

    class FakeLgpio:
        @staticmethod
        def gpiochip_open(n):
            return 5

        @staticmethod
        def gpio_claim_output(h, pin, level):
            if pin == 17:
                raise OSError("GPIO busy")
            calls.append(("low", pin, level))

        @staticmethod
        def gpio_free(h, pin):
            calls.append(("free", pin))

        @staticmethod
        def gpiochip_close(h):
            calls.append(("close",))

    import hardware.pi as pi
    from hardware.pi import GpioChip

    chip = GpioChip(0, "pinctrl-rp1", tmp_path / "gpiochip0")
    orig = pi.find_header_chip
    try:
        pi.find_header_chip = lambda model, paths: chip
        problems = en_off.drive_low([17, 27], simulate=False, lgpio_module=FakeLgpio)
    finally:
        pi.find_header_chip = orig
    assert calls == [("low", 27, 0), ("free", 27), ("close",)]
    assert len(problems) == 1
    assert problems[0].startswith("GPIO17: cannot drive EN low") and "GPIO busy" in problems[0]
