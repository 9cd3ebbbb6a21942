"""Hardware PWM over sysfs (against a fake sysfs tree), discovery, and the simulated channel."""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hardware.pwm as pwm_module
from hardware.brush import BrushArm
from hardware.pwm import (
    PWMChannel,
    SysfsPWMChannel,
    discover_pwm_chip,
    open_pwm_for_pin,
    period_ns_for,
)
from hardware.sim.pwm import SimPWMChannel
from hardware.trace import Trace
from station.errors import HardwareError
from station.wiring import load_wiring

PI4_LINE = "dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2"


class FakeSysfs:
    """A /sys/class/pwm look-alike. ``export``/``unexport`` are FIFOs served by a thread
    that creates/removes ``pwmN`` like the kernel does; attribute files are plain files,
    so every ``write`` (one value + newline) appends a line: the file is the write log."""

    def __init__(self, base: Path) -> None:
        self.root = base / "class_pwm"
        self.devices = base / "devices"
        self.root.mkdir()
        self.devices.mkdir()
        self._threads: list[tuple[Path, threading.Thread]] = []
        self.exports: list[int] = []
        self.errors: list[str] = []

    def add_chip(self, number: int, identity: str, npwm: int, *, live: bool = True) -> Path:
        device = self.devices / identity
        device.mkdir()
        chip = self.root / f"pwmchip{number}"
        chip.mkdir()
        (chip / "device").symlink_to(device)
        (chip / "npwm").write_text(f"{npwm}\n")
        for name in ("export", "unexport"):
            if live:
                os.mkfifo(chip / name)
                t = threading.Thread(target=self._serve, args=(chip, name), daemon=True)
                t.start()
                self._threads.append((chip / name, t))
            else:
                (chip / name).write_text("")
        return chip

    def _serve(self, chip: Path, name: str) -> None:
        while True:
            with open(chip / name) as f:
                words = f.read().split()
            # One read may hold several writes (e.g. an unexport then "quit").
            for word in words:
                if word == "quit":
                    return
                try:
                    self._apply(chip, name, int(word))
                except Exception as exc:  # reported by stop(); the thread lives on
                    self.errors.append(f"{name} {word}: {exc!r}")

    def _apply(self, chip: Path, name: str, channel: int) -> None:
        pwm = chip / f"pwm{channel}"
        if name == "export":
            self.exports.append(channel)
            # The kernel shows the directory with its attributes in one go: build it aside
            # and rename, or the channel under test could write a file the fake then empties.
            staging = chip / f".pwm{channel}.new"
            staging.mkdir()
            for attr in ("period", "duty_cycle", "enable"):
                (staging / attr).write_text("")
            staging.rename(pwm)
        else:
            shutil.rmtree(pwm)

    def stop(self) -> None:
        """Tell every server thread to quit without ever blocking: a FIFO with no reader
        (a thread that is gone) refuses a non-blocking open instead of hanging the run."""
        for fifo, thread in self._threads:
            deadline = time.monotonic() + 2.0
            while thread.is_alive() and time.monotonic() < deadline:
                try:
                    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as exc:
                    if exc.errno != errno.ENXIO:  # ENXIO: no reader yet; try again
                        raise
                    time.sleep(0.005)
                    continue
                with os.fdopen(fd, "w") as f:
                    f.write("quit")
                thread.join(timeout=2)
        assert not self.errors, f"the fake sysfs failed: {self.errors}"


def writes(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


@pytest.fixture
def sysfs(tmp_path: Path) -> Iterator[FakeSysfs]:
    fake = FakeSysfs(tmp_path)
    yield fake
    fake.stop()


# -- discovery ------------------------------------------------------------------------------
def test_discovery_pi4_skips_the_audio_block_and_maps_channels(sysfs: FakeSysfs) -> None:
    sysfs.add_chip(0, "fe20c800.pwm", 2, live=False)  # PWM1: the audio jack
    chip = sysfs.add_chip(2, "fe20c000.pwm", 2, live=False)
    found = {pin: discover_pwm_chip(pin, sysfs_root=sysfs.root) for pin in (12, 13, 18, 19)}
    assert {loc.chip for loc in found.values()} == {chip}
    assert {pin: loc.channel for pin, loc in found.items()} == {12: 0, 13: 1, 18: 0, 19: 1}


def test_discovery_pi5_uses_rp1_pwm0_not_the_fan_block(sysfs: FakeSysfs) -> None:
    sysfs.add_chip(0, "1f0009c000.pwm", 4, live=False)  # PWM1: the fan header
    chip = sysfs.add_chip(2, "1f00098000.pwm", 4, live=False)
    found = {pin: discover_pwm_chip(pin, sysfs_root=sysfs.root) for pin in (12, 13, 18, 19)}
    assert {loc.chip for loc in found.values()} == {chip}
    assert {pin: loc.channel for pin, loc in found.items()} == {12: 0, 13: 1, 18: 2, 19: 3}


def test_no_chip_gives_the_config_txt_line(sysfs: FakeSysfs) -> None:
    with pytest.raises(HardwareError) as info:
        discover_pwm_chip(18, sysfs_root=sysfs.root)
    msg = str(info.value)
    assert info.value.device == "GPIO18"
    assert PI4_LINE in msg and "config.txt" in msg and "reboot" in msg


def test_only_unrelated_chips_are_listed_in_the_error(sysfs: FakeSysfs) -> None:
    sysfs.add_chip(0, "1f0009c000.pwm", 4, live=False)
    with pytest.raises(HardwareError, match=r"pwmchip0 \(1f0009c000.pwm, npwm=4\)"):
        discover_pwm_chip(12, sysfs_root=sysfs.root)


def test_pin_without_hardware_pwm_is_refused(sysfs: FakeSysfs) -> None:
    sysfs.add_chip(0, "fe20c000.pwm", 2, live=False)
    with pytest.raises(HardwareError, match="GPIO17: has no hardware PWM"):
        discover_pwm_chip(17, sysfs_root=sysfs.root)


# -- the sysfs channel ------------------------------------------------------------------------
def test_channel_exports_sets_up_safe_and_writes_only_changes(sysfs: FakeSysfs) -> None:
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2)
    pwm = SysfsPWMChannel(chip=chip, channel=1, frequency_hz=50)
    base = chip / "pwm1"
    assert sysfs.exports == [1]
    assert isinstance(pwm, PWMChannel)
    assert writes(base / "enable") == [0]
    assert writes(base / "duty_cycle") == [0]
    assert writes(base / "period") == [period_ns_for(50)] == [pwm.period_ns]

    pwm.set_duty_cycle_ns(1_500_000)
    pwm.set_duty_cycle_ns(1_500_000)  # unchanged: no write
    pwm.set_enabled(True)
    pwm.set_enabled(True)
    pwm.set_duty_cycle_ns(1_500_001)  # a 1 ns step is a real write
    assert writes(base / "duty_cycle") == [0, 1_500_000, 1_500_001]
    assert writes(base / "enable") == [0, 1]
    assert (pwm.duty_cycle_ns, pwm.enabled) == (1_500_001, True)

    with pytest.raises(ValueError, match=r"duty_cycle_ns = 20000001: must be 0\.\.20000000"):
        pwm.set_duty_cycle_ns(pwm.period_ns + 1)
    assert writes(base / "duty_cycle")[-1] == 1_500_001

    pwm.close()
    _wait_for(lambda: not base.exists())
    pwm.close()  # twice is fine
    with pytest.raises(HardwareError, match="closed"):
        pwm.set_enabled(True)


def test_close_disables_before_unexport(sysfs: FakeSysfs) -> None:
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2)
    pwm = SysfsPWMChannel(chip=chip, channel=0, frequency_hz=50)
    pwm.set_enabled(True)
    enable = chip / "pwm0" / "enable"
    # Snapshot the log through a hard link: the fake unexport removes the directory.
    keep = chip.parent / "enable.log"
    os.link(enable, keep)
    pwm.close()
    assert writes(keep) == [0, 1, 0]
    _wait_for(lambda: not (chip / "pwm0").exists())


def test_already_exported_channel_is_adopted(sysfs: FakeSysfs) -> None:
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2)
    (chip / "pwm0").mkdir()
    for attr in ("period", "duty_cycle", "enable"):
        (chip / "pwm0" / attr).write_text("")
    with SysfsPWMChannel(chip=chip, channel=0, frequency_hz=100) as pwm:
        assert sysfs.exports == []  # no second export (the kernel would answer EBUSY)
        assert writes(chip / "pwm0" / "period") == [10_000_000] == [pwm.period_ns]


def test_export_that_never_appears_is_a_clear_error(sysfs: FakeSysfs) -> None:
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2, live=False)  # export is a dead plain file
    with pytest.raises(HardwareError, match=r"pwmchip0/pwm0: .*did not appear"):
        SysfsPWMChannel(chip=chip, channel=0, frequency_hz=50, export_timeout_s=0.05)


def test_export_waits_until_every_attribute_is_writable(
    sysfs: FakeSysfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """udev hands period/duty_cycle/enable to group gpio a few ms after the export; until
    then a write would fail (EACCES). Root may write anything, so the permission is
    modelled here: ``enable`` becomes writable 50 ms after the channel appears."""
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2)
    appeared: dict[str, float] = {}

    def writable(path: Path) -> bool:
        first = appeared.setdefault(str(path.parent), time.monotonic())
        return path.name != "enable" or time.monotonic() - first >= 0.05

    monkeypatch.setattr(pwm_module, "writable", writable)
    started = time.monotonic()
    with SysfsPWMChannel(chip=chip, channel=0, frequency_hz=50) as pwm:
        assert time.monotonic() - started >= 0.05
        assert writes(chip / "pwm0" / "enable") == [0]  # written only once it was allowed
        assert pwm.period_ns == 20_000_000


def test_an_attribute_that_never_becomes_writable_is_a_clear_error(
    sysfs: FakeSysfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    chip = sysfs.add_chip(0, "fe20c000.pwm", 2)
    monkeypatch.setattr(pwm_module, "writable", lambda path: path.name != "duty_cycle")
    started = time.monotonic()
    with pytest.raises(HardwareError) as info:
        SysfsPWMChannel(chip=chip, channel=0, frequency_hz=50, export_timeout_s=0.1)
    assert time.monotonic() - started < 1.0  # bounded
    msg = str(info.value)
    assert info.value.device == "pwmchip0/pwm0"
    assert "duty_cycle is not writable" in msg and "group gpio" in msg
    _wait_for(lambda: not (chip / "pwm0").exists())  # unexported again
    assert sysfs.exports == [0]


def test_the_default_export_wait_is_bounded_by_one_second() -> None:
    assert 0 < pwm_module.EXPORT_TIMEOUT_S <= 1.0


def test_brush_on_sysfs_end_to_end(sysfs: FakeSysfs) -> None:
    sysfs.add_chip(0, "fe20c800.pwm", 2, live=False)
    chip = sysfs.add_chip(1, "fe20c000.pwm", 2)
    config = load_wiring(None).brush[0]
    pwm = open_pwm_for_pin(config.pwm_pin, frequency_hz=config.frequency_hz, sysfs_root=sysfs.root)
    frames = itertools.count(0, 20_000_000)  # each call a PWM frame (50 Hz) after the last
    arm = BrushArm(config=config, pwm=pwm, clock=lambda: next(frames), background_flush=False)
    arm.start()
    arm.set_position_cm(arm.travel_cm / 2)
    base = chip / f"pwm{pwm.channel}"
    duty = writes(base / "duty_cycle")
    assert duty == [0, arm.duty_ns_for_angle(config.park_angle_deg), pwm.duty_cycle_ns]
    assert writes(base / "enable") == [0, 1]
    arm.close()
    _wait_for(lambda: not base.exists())


def _wait_for(cond, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


# -- the simulated channel --------------------------------------------------------------------
def test_sim_channel_traces_the_same_writes() -> None:
    trace = Trace()
    pwm = SimPWMChannel(name="brush", trace=trace, frequency_hz=50)
    assert isinstance(pwm, PWMChannel)
    pwm.set_duty_cycle_ns(1_000_000)
    pwm.set_duty_cycle_ns(1_000_000)
    pwm.set_enabled(True)
    assert pwm.state()["pulse_us"] == 1000.0
    with pytest.raises(ValueError, match="duty_cycle_ns = -1"):
        pwm.set_duty_cycle_ns(-1)
    pwm.close()
    got = [(r.device, r.what, r.value) for r in trace]
    assert got == [
        ("brush", "enable", 0),
        ("brush", "duty_cycle_ns", 0),
        ("brush", "period_ns", 20_000_000),
        ("brush", "duty_cycle_ns", 1_000_000),
        ("brush", "enable", 1),
        ("brush", "enable", 0),
    ]
    assert pwm.state()["enabled"] is False and pwm.state()["pulse_us"] == 0.0
    with pytest.raises(HardwareError, match="closed"):
        pwm.set_enabled(True)
