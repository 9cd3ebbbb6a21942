"""A register model of the TI DRV2605L / DRV2605 haptic driver, for the simulated bus.

It behaves like the chip as far as the station depends on it: reset defaults (standby
after reset), DEV_RESET, modes, RTP signed or unsigned (CONTROL3 bit 3), GO that reads 1
until the sequence / calibration / diagnostics would have finished, auto-calibration
results, the OVER_TEMP / OC_DETECT flags, a chip that stops answering (NACK) or is not
there at all, and the EN pin (low = shutdown, registers lost).

``output()`` is the simulator's ground truth of what the skin feels. It is derived from
register state ALONE (never from what a driver believes it wrote), so a driver bug that
leaves RTP running shows up as an active output. In RTP mode it follows the datasheet's
three transfer figures (``hardware.drv2605_transfer``): open loop, closed loop
bidirectional and closed loop unidirectional, signed and unsigned, ERM and LRA. Reverse
drive (unsigned RTP below mid-scale in open loop, a negative signed code in open loop) is
reported as drive with a negative sign, never as silence.

Time comes from an injectable ``clock`` returning ns (default ``time.monotonic_ns``);
GO is cleared lazily, on the next access or ``output()`` after its end time.

Reset defaults are the datasheet's register table as recalled (SLOS854); effect
durations are approximate (see ``drv2605_effects``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hardware.drv2605_transfer import LoopSettings, rtp_drive
from hardware.sim.drv2605_effects import EFFECTS, UNKNOWN_EFFECT
from hardware.sim.i2c import nack_error
from hardware.trace import Trace

ADDRESS = 0x5A
DEVICE_ID_DRV2605 = 3
DEVICE_ID_DRV2605L = 7

STATUS, MODE, RTP_INPUT, LIBRARY_SEL, SEQ1, GO = 0x00, 0x01, 0x02, 0x03, 0x04, 0x0C
RATED_VOLTAGE, OD_CLAMP, A_CAL_COMP, A_CAL_BEMF, FEEDBACK = 0x16, 0x17, 0x18, 0x19, 0x1A
CONTROL2, CONTROL3, CONTROL4, VBAT, LRA_PERIOD = 0x1C, 0x1D, 0x1E, 0x21, 0x22
LAST_REG = LRA_PERIOD

STANDBY_BIT, DEV_RESET_BIT = 0x40, 0x80
DIAG_RESULT_BIT, OVER_TEMP_BIT, OC_DETECT_BIT = 0x08, 0x02, 0x01
MODE_INTTRIG, MODE_RTP, MODE_DIAG, MODE_AUTOCAL = 0, 5, 6, 7

REGISTER_NAMES: dict[int, str] = {
    0x00: "STATUS", 0x01: "MODE", 0x02: "RTP_INPUT", 0x03: "LIBRARY_SEL",
    **{0x04 + i: f"WAV_FRM_SEQ{i + 1}" for i in range(8)},
    0x0C: "GO", 0x0D: "ODT", 0x0E: "SPT", 0x0F: "SNT", 0x10: "BRT",
    0x11: "ATH_CTRL", 0x12: "ATH_MIN_INPUT", 0x13: "ATH_MAX_INPUT",
    0x14: "ATH_MIN_DRIVE", 0x15: "ATH_MAX_DRIVE",
    0x16: "RATED_VOLTAGE", 0x17: "OD_CLAMP", 0x18: "A_CAL_COMP", 0x19: "A_CAL_BEMF",
    0x1A: "FEEDBACK", 0x1B: "CONTROL1", 0x1C: "CONTROL2", 0x1D: "CONTROL3",
    0x1E: "CONTROL4", 0x1F: "CONTROL5", 0x20: "OL_LRA_PERIOD", 0x21: "VBAT",
    0x22: "LRA_PERIOD",
}  # fmt: skip
_NAMES = tuple(REGISTER_NAMES.get(r, f"REG_0x{r:02X}") for r in range(256))

# Register values after power-up / DEV_RESET (STATUS gets the device id on top).
RESET_DEFAULTS: dict[int, int] = {
    MODE: 0x40, LIBRARY_SEL: 0x01, SEQ1: 0x01, 0x11: 0x05, 0x12: 0x19, 0x13: 0xFF,
    0x14: 0x19, 0x15: 0xFF, RATED_VOLTAGE: 0x3E, OD_CLAMP: 0x8C, A_CAL_COMP: 0x0C,
    A_CAL_BEMF: 0x6C, FEEDBACK: 0x36, 0x1B: 0x93, CONTROL2: 0xF5, CONTROL3: 0xA0,
    CONTROL4: 0x20, 0x1F: 0x80, 0x20: 0x33,
}  # fmt: skip
_READ_ONLY = frozenset({STATUS, VBAT, LRA_PERIOD})

# AUTO_CAL_TIME (CONTROL4 bits 5:4): the datasheet gives 150-350, 250-450, 500-700 and
# 1000-1200 ms; the model takes the middle of each range.
AUTO_CAL_MS = (250, 350, 600, 1100)
DIAGNOSTICS_MS = 100  # approximate
VBAT_AT_5V = 0xE4  # 5.0 V x 255 / 5.6 V
FAULTS = ("missing", "nack", "over_temp", "over_current", "en_unconnected")


class DRV2605Model:
    """One DRV2605(L) at 0x5A. Attach it to a ``SimI2CBus`` or a ``TCA9548AModel``
    channel; wire its EN pin with ``set_enabled``.

    ``enabled`` defaults to False, like the real board with a pull-down on EN: the chip
    answers only ``startup_us`` after ``set_enabled(True)``.
    """

    def __init__(
        self,
        *,
        device_id: int = DEVICE_ID_DRV2605L,
        clock: Callable[[], int] = time.monotonic_ns,
        enabled: bool = False,
        startup_us: int = 250,
        resonance_hz: float = 175.0,
        calibration_result: tuple[int, int, int] | None = None,
    ) -> None:
        if not 0 <= device_id <= 7:
            raise ValueError(f"device_id {device_id} must be 0..7 (3 = DRV2605, 7 = DRV2605L)")
        self.device_id = device_id
        self.resonance_hz = resonance_hz
        self.calibration_result = calibration_result
        self.fail_calibration = False  # set True: auto-calibration reports DIAG_RESULT=1
        self.actuator_connected = True  # False: calibration / diagnostics fail
        self._clock = clock
        self._startup_ns = startup_us * 1000
        self._trace: Trace | None = None
        self.name = "drv2605"
        self.present = True
        self.nack = False
        self.en_unconnected = False
        self._over_temp = False
        self._over_current = False
        self.regs = bytearray(LAST_REG + 1)
        self._pointer = 0
        self._go_end: int | None = None
        self._go_kind = ""
        self._segments: list[tuple[int, float]] = []
        # Called after every register write (the simulated patient watches the drive).
        self.on_write: Callable[[], None] | None = None
        self.enabled = enabled
        self._ready_ns = 0
        self._reset()

    # --- wiring and fault injection -------------------------------------------------
    def bind(self, trace: Trace | None, name: str) -> None:
        self._trace = trace
        self.name = name

    def set_enabled(self, on: bool) -> None:
        """The EN pin. Low = shutdown (no answers, registers lost); rising = fresh reset
        state (standby) after ``startup_us``."""
        on = bool(on)
        if self.en_unconnected:
            on = True  # EN tied high on the board: the pin changes nothing
        if on == self.enabled:
            return
        self.enabled = on
        if self._trace is not None:
            self._trace.record(self.name, "EN", int(on))
        self._cancel_go()
        if on:
            self._reset()
            self._ready_ns = self._clock() + self._startup_ns

    def inject_fault(self, fault: str) -> None:
        """``missing`` (not on the bus), ``nack`` (stops answering; keeps driving what
        its registers say), ``over_temp`` / ``over_current`` (output shut down, flag
        latched in STATUS), ``en_unconnected`` (a board whose EN does not reach the chip:
        it stays powered and answering whatever the pin does)."""
        if fault == "missing":
            self.present = False
        elif fault == "nack":
            self.nack = True
        elif fault == "over_temp":
            self._over_temp = True
            self.regs[STATUS] |= OVER_TEMP_BIT
        elif fault == "over_current":
            self._over_current = True
            self.regs[STATUS] |= OC_DETECT_BIT
        elif fault == "en_unconnected":
            self.en_unconnected = True  # a board whose EN does not reach the chip
            self.set_enabled(True)
        else:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")

    def clear_faults(self) -> None:
        """End every injected condition (latched STATUS flags clear on their next read)."""
        self.present = True
        self.nack = False
        self.en_unconnected = False
        self._over_temp = self._over_current = False

    # --- I2C target -----------------------------------------------------------------
    def responds(self) -> bool:
        return self._answering(self._clock())

    def i2c_write(self, buffer: Any, start: int, end: int) -> None:
        now = self._clock()
        if not self._answering(now):
            raise nack_error(ADDRESS)
        if end <= start:
            return  # address-only probe
        if self._go_end is not None:
            self._update(now)
        reg = buffer[start]
        for i in range(start + 1, end):
            self._write_reg(reg, buffer[i], now)
            reg += 1
        self._pointer = reg
        if self.on_write is not None:
            self.on_write()

    def i2c_read(self, buffer: Any, start: int, end: int) -> None:
        now = self._clock()
        if not self._answering(now):
            raise nack_error(ADDRESS)
        if self._go_end is not None:
            self._update(now)
        reg = self._pointer
        for i in range(start, end):
            buffer[i] = self._read_reg(reg, now)
            reg += 1
        self._pointer = reg

    # --- ground truth ---------------------------------------------------------------
    def output(self) -> tuple[bool, float]:
        """``(active, drive)``: what the actuator is doing, from register state. ``drive``
        is a signed fraction of full scale (-1..1; negative = reverse drive), for a ROM
        effect its strength, for calibration/diagnostics the rated level."""
        now = self._clock()
        if self._go_end is not None:
            self._update(now)
        regs = self.regs
        if (
            not self.present
            or not self.enabled
            or self._over_temp
            or self._over_current
            or regs[MODE] & STANDBY_BIT
        ):
            return False, 0.0
        mode = regs[MODE] & 0x07
        if mode == MODE_RTP:
            drive = rtp_drive(regs[RTP_INPUT], self.loop_settings())
            return drive != 0.0, drive
        if not regs[GO] & 1:
            return False, 0.0
        if mode in (MODE_AUTOCAL, MODE_DIAG):
            return True, min(1.0, regs[RATED_VOLTAGE] / max(1, regs[OD_CLAMP]))
        for end_ns, strength in self._segments:
            if now < end_ns:
                return strength > 0, strength
        return False, 0.0

    def loop_settings(self) -> LoopSettings:
        """Loop mode, BIDIR_INPUT and data format as the registers set them now."""
        regs = self.regs
        return LoopSettings.from_registers(
            feedback=regs[FEEDBACK], control2=regs[CONTROL2], control3=regs[CONTROL3]
        )

    @property
    def mode(self) -> int:
        return self.regs[MODE] & 0x07

    @property
    def standby(self) -> bool:
        return bool(self.regs[MODE] & STANDBY_BIT)

    def register(self, reg: int | str) -> int:
        """Current value of a register by address or name (no side effects, no bus)."""
        if isinstance(reg, str):
            by_name = {n: a for a, n in REGISTER_NAMES.items()}
            if reg not in by_name:
                raise KeyError(f"no DRV2605 register named {reg!r}; known: {sorted(by_name)}")
            reg = by_name[reg]
        self._update(self._clock())
        return self.regs[reg]

    # --- internals ------------------------------------------------------------------
    def _answering(self, now: int) -> bool:
        return self.present and not self.nack and self.enabled and now >= self._ready_ns

    def _reset(self) -> None:
        regs = self.regs
        regs[:] = bytes(len(regs))
        for reg, value in RESET_DEFAULTS.items():
            regs[reg] = value
        regs[STATUS] = self.device_id << 5
        regs[VBAT] = VBAT_AT_5V
        if self._over_temp:
            regs[STATUS] |= OVER_TEMP_BIT
        if self._over_current:
            regs[STATUS] |= OC_DETECT_BIT
        self._pointer = 0
        self._cancel_go()

    def _write_reg(self, reg: int, value: int, now: int) -> None:
        if reg > LAST_REG:
            return
        if self._trace is not None:
            self._trace.record(self.name, _NAMES[reg], value)
        if reg in _READ_ONLY:
            return
        if reg == MODE and value & DEV_RESET_BIT:
            self._reset()  # DEV_RESET self-clears: MODE reads 0x40 afterwards
        elif reg == GO:
            if value & 1:
                self._start_go(now)
            else:
                self._cancel_go()
        else:
            self.regs[reg] = value

    def _read_reg(self, reg: int, now: int) -> int:
        if reg > LAST_REG:
            return 0
        regs = self.regs
        if reg == STATUS:
            value = regs[STATUS]
            regs[STATUS] &= ~(OVER_TEMP_BIT | OC_DETECT_BIT)  # latched flags clear on read
            if self._over_temp:
                regs[STATUS] |= OVER_TEMP_BIT
            if self._over_current:
                regs[STATUS] |= OC_DETECT_BIT
            return value
        if reg == LRA_PERIOD:
            # Auto-resonance tracking needs the LRA's back-EMF: no actuator, no period.
            driving = self.output()[0] and regs[FEEDBACK] & 0x80 and self.actuator_connected
            return min(255, round(1e6 / self.resonance_hz / 98.46)) if driving else 0
        return regs[reg]

    def _start_go(self, now: int) -> None:
        regs = self.regs
        mode = regs[MODE] & 0x07
        if regs[MODE] & STANDBY_BIT or mode in (3, 4, MODE_RTP):
            return  # nothing for GO to start: standby, PWM/analog, audio, RTP
        regs[GO] = 1
        self._segments = []
        if mode == MODE_AUTOCAL:
            self._go_kind = "calibration"
            self._go_end = now + AUTO_CAL_MS[(regs[CONTROL4] >> 4) & 0x03] * 1_000_000
        elif mode == MODE_DIAG:
            self._go_kind = "diagnostics"
            self._go_end = now + DIAGNOSTICS_MS * 1_000_000
        else:
            self._go_kind = "sequence"
            t = now
            for slot in range(SEQ1, SEQ1 + 8):
                value = regs[slot]
                if value == 0:
                    break
                if value & 0x80:
                    ms, strength = (value & 0x7F) * 10, 0.0
                else:
                    ms, strength = EFFECTS.get(value, UNKNOWN_EFFECT)
                t += ms * 1_000_000
                self._segments.append((t, strength))
            self._go_end = t

    def _cancel_go(self) -> None:
        self.regs[GO] = 0
        self._go_end = None
        self._segments = []

    def _update(self, now: int) -> None:
        if self._go_end is None or now < self._go_end:
            return
        kind = self._go_kind
        self._cancel_go()
        regs = self.regs
        if kind == "calibration":
            if self.fail_calibration or not self.actuator_connected:
                regs[STATUS] |= DIAG_RESULT_BIT
                return
            regs[STATUS] &= ~DIAG_RESULT_BIT
            comp, bemf, gain = self.calibration_result or self._plausible_calibration()
            regs[A_CAL_COMP] = comp
            regs[A_CAL_BEMF] = bemf
            regs[FEEDBACK] = (regs[FEEDBACK] & 0xFC) | (gain & 0x03)
        elif kind == "diagnostics":
            if self.actuator_connected:
                regs[STATUS] &= ~DIAG_RESULT_BIT
            else:
                regs[STATUS] |= DIAG_RESULT_BIT

    def _plausible_calibration(self) -> tuple[int, int, int]:
        """Results in the range real parts give, varying with RATED_VOLTAGE so a test
        can tell them from the reset defaults."""
        lra = bool(self.regs[FEEDBACK] & 0x80)
        rated = self.regs[RATED_VOLTAGE]
        if lra:
            return 0x0D, min(255, 0x60 + rated // 4), 2
        return 0x0B, min(255, 0x50 + rated // 8), 2
