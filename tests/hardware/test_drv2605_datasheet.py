"""The DRV2605L's RTP transfer, as TI's datasheet draws it, against the simulator.

Every expected value here is read off the three transfer figures in SLOS854 ("Data
Formats for Waveform Playback"; the same figures in SLOS825 for the DRV2605):

- open loop (ERM_OPEN_LOOP = 1 or LRA_OPEN_LOOP = 1), full scale OD_CLAMP: signed 0x81 /
  0x00 / 0x7F and unsigned 0x00 / 0x80 / 0xFF are -full / no drive / +full. "A mid-scale
  input value gives no drive signal, and a less-than mid-scale gives a negative drive
  value. For an ERM, a negative drive value results in counter-rotation."
- closed loop, BIDIR_INPUT = 1 (the reset default), full scale RATED_VOLTAGE: signed 0x00 /
  0x3F / 0x7F and unsigned 0x80 / 0xBF / 0xFF are zero / half / full; inputs below
  mid-scale are "the same as the mid-scale with zero drive" (braking).
- closed loop, BIDIR_INPUT = 0: signed 0x00..0x7F and unsigned 0x00..0xFF, zero to full.

The rows run through the real register model on the simulated bus (``output()``), the pure
transfer the station uses to read a chip back (``rtp_drive``), and the independent trace
decoder the engine tests use (``datasheet_drive``), so none of the three can drift.
"""

from __future__ import annotations

import pytest

from hardware.drv2605_transfer import LoopSettings, rtp_drive, zero_code
from hardware.sim import ManualClock
from hardware.sim.drv2605 import DRV2605Model
from hardware.sim.i2c import SimI2CBus
from tests.hardware.drive_decode import datasheet_drive

HALF = 0.5
FULL = 1.0
# (loop, BIDIR_INPUT, format, code, expected drive as a fraction of the mode's full scale)
FIGURES = [
    # Open loop: BIDIR_INPUT does not apply (it is for closed loop only): both values.
    *[
        row
        for bidir in (1, 0)
        for row in [
            ("open", bidir, "signed", 0x81, -FULL),
            ("open", bidir, "signed", 0x00, 0.0),
            ("open", bidir, "signed", 0x7F, FULL),
            ("open", bidir, "unsigned", 0x00, -FULL),
            ("open", bidir, "unsigned", 0x80, 0.0),
            ("open", bidir, "unsigned", 0xFF, FULL),
        ]
    ],
    ("closed", 1, "signed", 0x00, 0.0),
    ("closed", 1, "signed", 0x3F, HALF),
    ("closed", 1, "signed", 0x7F, FULL),
    ("closed", 1, "signed", 0x81, 0.0),  # below mid-scale: braking, no drive
    ("closed", 1, "unsigned", 0x00, 0.0),  # braking
    ("closed", 1, "unsigned", 0x7F, 0.0),  # braking
    ("closed", 1, "unsigned", 0x80, 0.0),
    ("closed", 1, "unsigned", 0xBF, HALF),
    ("closed", 1, "unsigned", 0xFF, FULL),
    ("closed", 0, "signed", 0x00, 0.0),
    ("closed", 0, "signed", 0x7F, FULL),
    ("closed", 0, "unsigned", 0x00, 0.0),
    ("closed", 0, "unsigned", 0xFF, FULL),
]
ONE_STEP = 1 / 127  # the figures are straight lines between their marked points


def _set_up(bus: SimI2CBus, *, lra: bool, loop: str, bidir: int, fmt: str, code: int) -> None:
    feedback = 0x36 | (0x80 if lra else 0)
    control2 = 0x75 | (0x80 if bidir else 0)
    control3 = 0x80  # NG_THRESH default, both open-loop bits clear: closed loop
    if loop == "open":
        control3 |= 0x01 if lra else 0x20
    if fmt == "unsigned":
        control3 |= 0x08
    for reg, value in ((0x1A, feedback), (0x1C, control2), (0x1D, control3),
                       (0x02, code), (0x01, 0x05)):  # fmt: skip
        bus.writeto(0x5A, bytes([reg, value]))


@pytest.mark.parametrize("kind", ["erm", "lra"])
@pytest.mark.parametrize(("loop", "bidir", "fmt", "code", "expected"), FIGURES)
def test_rtp_transfer_follows_the_datasheet_figures(kind, loop, bidir, fmt, code, expected):
    clock = ManualClock()
    bus = SimI2CBus()
    chip = bus.attach(0x5A, DRV2605Model(clock=clock, enabled=True))
    clock.advance(0.001)
    assert bus.try_lock()
    try:
        _set_up(bus, lra=kind == "lra", loop=loop, bidir=bidir, fmt=fmt, code=code)
    finally:
        bus.unlock()
    active, drive = chip.output()
    assert drive == pytest.approx(expected, abs=ONE_STEP)
    assert active == (expected != 0.0)  # reverse drive is drive, never silence
    assert chip.loop_settings().reference == ("OD_CLAMP" if loop == "open" else "RATED_VOLTAGE")
    settings = LoopSettings(lra=kind == "lra", open_loop=loop == "open",
                            bidirectional=bool(bidir), unsigned=fmt == "unsigned")  # fmt: skip
    assert rtp_drive(code, settings) == pytest.approx(expected, abs=ONE_STEP)
    regs = {name: chip.register(name) for name in
            ("MODE", "RTP_INPUT", "FEEDBACK", "CONTROL2", "CONTROL3")}  # fmt: skip
    assert datasheet_drive(regs) == pytest.approx(expected, abs=ONE_STEP)


@pytest.mark.parametrize("lra", [False, True])
@pytest.mark.parametrize("open_loop", [False, True])
@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("unsigned", [False, True])
def test_zero_code_drives_nothing_and_signed_codes_never_reverse(lra, open_loop, bidir, unsigned):
    s = LoopSettings(lra=lra, open_loop=open_loop, bidirectional=bidir, unsigned=unsigned)
    assert rtp_drive(zero_code(s), s) == 0.0
    if not unsigned:
        # What the station writes: signed 0..127 is zero at 0 and never negative, in
        # every mode (so a zero is silence whatever the chip's loop settings are).
        drives = [rtp_drive(code, s) for code in range(128)]
        assert drives[0] == 0.0 and min(drives) >= 0.0 and drives[127] == 1.0
        assert drives == sorted(drives)


def test_reverse_drive_is_reported_with_its_sign_by_the_virtual_station():
    from hardware.sim.simulator import Simulator
    from station.wiring import load_wiring

    sim = Simulator(wiring=load_wiring())
    chip = sim.chips["upper_arm"]  # an ERM in the default wiring
    chip._startup_ns = 0
    chip.set_enabled(True)
    # What the first round wrote: open loop (reset default), unsigned RTP, amplitude 0.
    for reg, value in ((0x01, 0x00), (0x1D, 0xA8), (0x02, 0x00), (0x01, 0x05)):
        chip.i2c_write(bytes([reg, value]), 0, 2)
    out = sim.outputs()["upper_arm"]
    assert out == {"active": True, "level": 1.0, "drive": -1.0, "reverse": True,
                   "reference": "OD_CLAMP"}  # fmt: skip
