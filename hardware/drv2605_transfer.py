"""What a DRV2605(L) drives for a given register state: the datasheet's RTP transfer.

TI's datasheet (SLOS854, "Data Formats for Waveform Playback", the three transfer figures)
defines the steady-state drive for an RTP_INPUT code by loop mode, CONTROL2 BIDIR_INPUT and
CONTROL3 DATA_FORMAT_RTP. This module states those figures once, as pure functions of
register values, so that

- the simulator's chip model reports what the skin would feel from its registers alone, and
- the self-test and the engine can read a real chip's registers back and say what it drives.

Drive is a signed fraction of the mode's full-scale reference: OD_CLAMP in open loop,
RATED_VOLTAGE in closed loop. Negative means reverse drive (an ERM counter-rotates, an LRA's
commutation is phase-shifted 180 degrees): it is drive, never silence. Closed-loop inputs
below mid-scale are braking, which the datasheet defines as zero drive.

The figures, input -> output (signed code = two's complement byte):

| loop | BIDIR_INPUT | format | -full | zero | +full |
|---|---|---|---|---|---|
| open (ERM_OPEN_LOOP or LRA_OPEN_LOOP) | ignored | signed | 0x81 | 0x00 | 0x7F |
| open | ignored | unsigned | 0x00 | 0x80 (mid-scale) | 0xFF |
| closed | 1 (reset default) | signed | - (negative = braking, 0) | 0x00 | 0x7F |
| closed | 1 | unsigned | - (0x00..0x7F = braking, 0) | 0x80 | 0xFF |
| closed | 0 | signed | - | 0x00 | 0x7F |
| closed | 0 | unsigned | - | 0x00 | 0xFF |

Between those points the transfer is linear. Closed loop unidirectional with a negative
signed code is outside the figure; it is modelled as no drive (the station never writes
one: it writes signed 0..127, which is zero-safe in every row above).
"""

from __future__ import annotations

from dataclasses import dataclass

# Register bits (SLOS854 register map).
FEEDBACK_N_ERM_LRA = 0x80  # FEEDBACK (0x1A) bit 7: 1 = LRA
CONTROL2_BIDIR_INPUT = 0x80  # CONTROL2 (0x1C) bit 7, 1 after reset
CONTROL3_ERM_OPEN_LOOP = 0x20  # CONTROL3 (0x1D) bit 5, 1 after reset
CONTROL3_DATA_FORMAT_RTP = 0x08  # CONTROL3 bit 3: 1 = unsigned
CONTROL3_LRA_OPEN_LOOP = 0x01  # CONTROL3 bit 0


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """The register bits that decide what an RTP code means."""

    lra: bool
    open_loop: bool
    bidirectional: bool
    unsigned: bool

    @classmethod
    def from_registers(cls, *, feedback: int, control2: int, control3: int) -> LoopSettings:
        lra = bool(feedback & FEEDBACK_N_ERM_LRA)
        open_bit = CONTROL3_LRA_OPEN_LOOP if lra else CONTROL3_ERM_OPEN_LOOP
        return cls(
            lra=lra,
            open_loop=bool(control3 & open_bit),
            bidirectional=bool(control2 & CONTROL2_BIDIR_INPUT),
            unsigned=bool(control3 & CONTROL3_DATA_FORMAT_RTP),
        )

    @property
    def reference(self) -> str:
        """The register that sets full scale in this loop mode."""
        return "OD_CLAMP" if self.open_loop else "RATED_VOLTAGE"

    def describe(self) -> str:
        kind = "LRA" if self.lra else "ERM"
        loop = "open loop" if self.open_loop else "closed loop"
        if not self.open_loop:
            loop += ", bidirectional" if self.bidirectional else ", unidirectional"
        fmt = "unsigned" if self.unsigned else "signed"
        return f"{kind} {loop}, {fmt} RTP (full scale = {self.reference})"


def rtp_drive(code: int, settings: LoopSettings) -> float:
    """Signed drive, -1..1 of the mode's full scale, for RTP_INPUT ``code`` (0..255)."""
    code &= 0xFF
    if settings.unsigned:
        # Mid-scale 0x80 is the zero of every bidirectional figure.
        centred = code - 0x80
        if settings.open_loop:
            return centred / 0x7F if centred >= 0 else centred / 0x80
        if settings.bidirectional:
            return centred / 0x7F if centred > 0 else 0.0  # lower half: braking
        return code / 0xFF
    signed = code - 0x100 if code & 0x80 else code
    if signed >= 0:
        return signed / 0x7F
    if settings.open_loop:
        return max(-1.0, signed / 0x7F)  # 0x81 = -127 is -full; 0x80 clips there too
    return 0.0  # closed loop: braking (bidirectional) or outside the figure


def zero_code(settings: LoopSettings) -> int:
    """The RTP code that drives nothing in these settings (what 'off' must write)."""
    if settings.unsigned and (settings.open_loop or settings.bidirectional):
        return 0x80
    return 0x00
