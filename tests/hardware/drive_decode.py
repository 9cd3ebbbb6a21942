"""Decode a simulator trace into what each DRV2605L drove, by the datasheet alone.

This is the check that found the first round's reverse drive: take the register writes
the trace recorded for one driver, track the registers that decide RTP's meaning, and
apply TI's transfer figures (SLOS854, "Data Formats for Waveform Playback"). The reset
values and the figures below are typed in from the datasheet, not imported from the
station's code, so a wrong model in ``hardware/`` cannot make this agree with itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# SLOS854 register map, values after power-up / EN rising.
RESET = {"MODE": 0x40, "RTP_INPUT": 0x00, "FEEDBACK": 0x36, "CONTROL2": 0xF5, "CONTROL3": 0xA0}
RTP_MODE = 5


def datasheet_drive(regs: dict[str, int] | None) -> float:
    """Signed drive (fraction of full scale) for a register state; None = EN low."""
    if regs is None or regs["MODE"] & 0x40 or regs["MODE"] & 0x07 != RTP_MODE:
        return 0.0
    code = regs["RTP_INPUT"]
    lra = regs["FEEDBACK"] & 0x80
    open_loop = regs["CONTROL3"] & (0x01 if lra else 0x20)
    unsigned = regs["CONTROL3"] & 0x08
    bidir = regs["CONTROL2"] & 0x80
    if open_loop:
        # signed: 0x81 -full, 0x00 zero, 0x7F +full; unsigned: 0x00 -full, 0x80 zero, 0xFF +full
        value = code - 0x80 if unsigned else (code - 0x100 if code > 0x7F else code)
        return max(-1.0, value / 0x7F)
    if unsigned:
        if bidir:
            return max(0, code - 0x80) / 0x7F  # below mid-scale: braking, no drive
        return code / 0xFF
    value = code - 0x100 if code > 0x7F else code
    return max(0, value) / 0x7F  # negative: braking (bidirectional) / outside the figure


def drive_timeline(records: Iterable[Any], device: str) -> list[tuple[int, float]]:
    """``[(t_ns, drive)]`` after every trace record of ``device`` (EN edges included)."""
    regs: dict[str, int] | None = None
    out: list[tuple[int, float]] = []
    for r in records:
        if r.device != device:
            continue
        if r.what == "EN":
            regs = dict(RESET) if r.value else None
        elif regs is not None and r.what in regs:
            if r.what == "MODE" and r.value & 0x80:  # DEV_RESET
                regs = dict(RESET)
            else:
                regs[r.what] = r.value
        out.append((r.t_ns, datasheet_drive(regs)))
    return out


def drive_at(timeline: list[tuple[int, float]], t_ns: int) -> float:
    """The drive in force at ``t_ns`` (0 before the first record)."""
    value = 0.0
    for t, d in timeline:
        if t > t_ns:
            break
        value = d
    return value
