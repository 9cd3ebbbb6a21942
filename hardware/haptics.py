"""One DRV2605(L) haptic driver with its EN pin: the real-hardware ``Haptic``.

The unchanged ``adafruit_drv2605.DRV2605`` does the chip talk; this class adds what the
station needs and the library lacks: EN handling with the 250 us settle time, LRA/ERM
set-up with the device limits from the wiring config, stored auto-calibration written
back at every start, signed RTP (0..127) with a hard ceiling (``max_code``), fault
polling, a read-back of what the chip drives (``drive()``, decoded by the datasheet's
transfer), the register-level auto-calibration, and an ``off()`` that always ends with EN
low.

Why signed RTP: TI's datasheet (SLOS854, "Data Formats for Waveform Playback") makes signed
0x00 "no drive" in open loop, closed-loop bidirectional and closed-loop unidirectional
alike, while an unsigned 0x00 is full REVERSE drive for an open-loop ERM (mid-scale 0x80 is
zero there) and codes below 0x80 drive nothing on a closed-loop bidirectional LRA. ERMs run
open loop (the Adafruit default; full scale = OD_CLAMP, no calibration needed), LRAs closed
loop (full scale = RATED_VOLTAGE, auto-resonance). See hardware/README.md.

``bus`` is anything busio-like: a real ``busio.I2C``, a ``CachedMuxChannel`` (one
transaction per RTP update behind a TCA9548A) or a ``SimI2CBus``.

THREADING: call every method from ONE thread (the engine's). ``adafruit_drv2605`` keeps
its read buffer in a class attribute shared by all instances and returns it after the
bus lock is released, so concurrent reads from two threads return each other's bytes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import adafruit_drv2605
from adafruit_bus_device.i2c_device import I2CDevice

from hardware import autocal
from hardware.calibration import CalibrationStore
from hardware.drv2605_regs import (
    A_CAL_BEMF,
    A_CAL_COMP,
    ADDRESS,
    CONTROL2,
    CONTROL3,
    EN_SETTLE_S,
    FEEDBACK,
    GO,
    LRA_BIT,
    LRA_PERIOD,
    LRA_PERIOD_US,
    MODE,
    MODE_STANDBY,
    OC_DETECT_BIT,
    OD_CLAMP,
    OVER_TEMP_BIT,
    RATED_VOLTAGE,
    RTP_INPUT,
    STATUS,
)
from hardware.drv2605_transfer import (
    CONTROL3_DATA_FORMAT_RTP,
    CONTROL3_ERM_OPEN_LOOP,
    CONTROL3_LRA_OPEN_LOOP,
    LoopSettings,
    rtp_drive,
)
from station.engine.render import rtp_code
from station.errors import HardwareError
from station.wiring import HapticCalibration, HapticConfig

EFFECT_IDS = range(1, 124)


class HapticDriver:
    """``hardware.interfaces.Haptic`` for one DRV2605(L).

    ``enable`` is a gpiozero ``DigitalOutputDevice`` the caller created (initial_value
    False, active_high True) and closes; ``sleep`` is injectable so a simulated clock
    can advance with the driver's waits.
    """

    def __init__(
        self,
        *,
        config: HapticConfig,
        bus: Any,
        enable: Any,
        calibration_store: CalibrationStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        # Rounded down: the device limit is never exceeded (0.9 -> 114/127 = 0.898).
        self.max_code = rtp_code(config.max_amplitude)
        self.calibration: HapticCalibration | None = None  # what start() wrote back
        self._bus = bus
        self._enable = enable
        self._store = calibration_store
        self._sleep = sleep
        # Our own device handle (no probe, no traffic) for off(): it must work even
        # when start() never succeeded, e.g. `station safe-off` after a crash.
        self._raw = I2CDevice(bus, ADDRESS, probe=False)
        self._raw_buf = bytearray(2)
        self._drv: adafruit_drv2605.DRV2605 | None = None
        self._mode: int | None = None  # the MODE we last wrote; None = unknown
        if config.channel is None:
            self._where = "the I2C bus (no multiplexer)"
            self._check = f"check SDA/SCL/power and that EN (GPIO{config.enable_pin}) is connected"
        else:
            self._where = f"mux channel {config.channel}"
            self._check = (
                f"check its wiring, that it is on channel {config.channel} of the TCA9548A, "
                f"that the TCA9548A answers, and that EN (GPIO{config.enable_pin}) is connected"
            )

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """EN high, (re)initialise, restore calibration, RTP mode at amplitude 0.
        Raises ``HardwareError`` (with EN dropped) when the chip is missing or wrong."""
        self._drv = None
        self._mode = None
        try:
            if self._enable.value:
                self._enable.off()  # a fresh power-up state, whatever happened before
            self._enable.on()
            self._sleep(EN_SETTLE_S)
            self._drv = self._construct()
            self._configure()
            self._check_silent()
        except BaseException:
            self._drv = None
            self._mode = None
            self._drop_en()
            raise

    def close(self) -> None:
        """Outputs off. The EN device belongs to the caller, who closes it."""
        self.off()

    def __enter__(self) -> HapticDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- output ---------------------------------------------------------------------
    def set_rtp(self, code: int) -> None:
        """Signed RTP amplitude, clamped to 0..max_code (never negative: a negative code is
        reverse drive in open loop); one register write once in RTP mode (two when
        coming from an effect: the amplitude first, then the mode)."""
        drv = self._started()
        code = int(code)
        if code < 0:
            code = 0
        elif code > self.max_code:
            code = self.max_code
        try:
            drv.realtime_value = code
            if self._mode != adafruit_drv2605.MODE_REALTIME:
                drv.mode = adafruit_drv2605.MODE_REALTIME
                self._mode = adafruit_drv2605.MODE_REALTIME
        except OSError as exc:
            self._mode = None
            raise self._bus_error("writing the RTP amplitude", exc) from exc

    def play_effect(self, effect_id: int) -> None:
        """Play one ROM effect now (internal trigger): slot 0 = id, slot 1 = end, GO."""
        if isinstance(effect_id, bool) or not isinstance(effect_id, int):
            raise ValueError(f"{self.name}: effect id {effect_id!r} must be an integer 1..123")
        if effect_id not in EFFECT_IDS:
            raise ValueError(
                f"{self.name}: effect id {effect_id} is not in the DRV2605 library; "
                "allowed 1..123 (0 only ends a sequence)"
            )
        drv = self._started()
        try:
            if self._mode != adafruit_drv2605.MODE_INTTRIG:
                drv.mode = adafruit_drv2605.MODE_INTTRIG
                self._mode = adafruit_drv2605.MODE_INTTRIG
            drv.set_waveform(effect_id, 0)
            drv.set_waveform(0, 1)
            drv.play()
        except OSError as exc:
            self._mode = None
            raise self._bus_error(f"starting effect {effect_id}", exc) from exc

    def check_faults(self) -> str | None:
        """Read STATUS: "over-temperature", "over-current", both joined by "and", or
        None. The chip clears these latched flags on read, so report what you get."""
        if self._drv is None:
            return None  # EN low: the chip is shut down and drives nothing
        try:
            status = self._drv._read_u8(STATUS)
        except OSError as exc:
            self._mode = None
            raise self._bus_error("reading STATUS", exc) from exc
        found = []
        if status & OVER_TEMP_BIT:
            found.append("over-temperature")
        if status & OC_DETECT_BIT:
            found.append("over-current")
        return " and ".join(found) or None

    def silence(self) -> None:
        """EN low only: one GPIO write, the fastest way to stop the motor. A stop drops
        every driver's EN first and then calls ``off()`` for the register writes, so the
        skin goes quiet within microseconds even with four drivers on a slow bus.
        Never raises."""
        self._drop_en()

    def off(self) -> None:
        """RTP 0, GO 0 (cancels a playing effect), MODE standby, then EN low. Bus errors
        are swallowed: EN low is the guarantee and always happens. Never raises."""
        self._drv = None
        self._mode = None
        for reg, value in ((RTP_INPUT, 0), (GO, 0), (MODE, MODE_STANDBY)):
            with contextlib.suppress(Exception):  # a failing bus must not stop EN going low
                self._raw_write(reg, value)
        self._drop_en()

    # --- auto-calibration -----------------------------------------------------------
    def calibrate(self, *, timeout_s: float = 2.5, poll_s: float = 0.01) -> HapticCalibration:
        """Run the chip's auto-calibration (``hardware.autocal``: the Adafruit driver has
        no API for it), store the results and return to RTP mode at 0. The actuator must
        be mounted as in use. On any failure the outputs go off and ``HardwareError`` says
        why."""
        if self._drv is None:
            self.start()
        drv = self._drv
        assert drv is not None
        try:
            self._mode = adafruit_drv2605.MODE_AUTOCAL
            cal = autocal.run(
                drv, self.config, name=self.name, where=self._where, sleep=self._sleep,
                timeout_s=timeout_s, poll_s=poll_s,
            )  # fmt: skip
            self._mode = adafruit_drv2605.MODE_REALTIME
        except OSError as exc:
            self.off()
            raise self._bus_error("auto-calibration", exc) from exc
        except BaseException:
            self.off()
            raise
        if self._store is not None:
            self._store.put(self.name, cal)
        self.calibration = cal
        return cal

    # --- read-back ------------------------------------------------------------------
    def drive(self) -> tuple[float, LoopSettings]:
        """What the chip drives now, read back from its registers (MODE, RTP_INPUT,
        FEEDBACK, CONTROL2, CONTROL3) and decoded by the datasheet's transfer: a signed
        fraction of full scale (negative = reverse) and the loop settings it found.
        Only RTP mode is decoded; standby or another mode reads as 0."""
        drv = self._started()
        try:
            mode = drv._read_u8(MODE)
            settings = LoopSettings.from_registers(
                feedback=drv._read_u8(FEEDBACK),
                control2=drv._read_u8(CONTROL2),
                control3=drv._read_u8(CONTROL3),
            )
            if mode & MODE_STANDBY or mode & 0x07 != adafruit_drv2605.MODE_REALTIME:
                return 0.0, settings
            return rtp_drive(drv._read_u8(RTP_INPUT), settings), settings
        except OSError as exc:
            self._mode = None
            raise self._bus_error("reading back the drive registers", exc) from exc

    def lra_period_us(self) -> float:
        """The LRA's measured resonance period (LRA_PERIOD x 98.46 us; valid while it
        drives, 0 when it does not resonate)."""
        drv = self._started()
        try:
            return drv._read_u8(LRA_PERIOD) * LRA_PERIOD_US
        except OSError as exc:
            self._mode = None
            raise self._bus_error("reading LRA_PERIOD", exc) from exc

    def answers_with_en_low(self) -> bool:
        """True when the chip still answers on the bus with EN low: EN does not reach it
        (a board with EN tied high), so only the register writes can silence it."""
        self._drop_en()
        self._sleep(EN_SETTLE_S)
        try:
            with self._raw as i2c:
                self._raw_buf[0] = STATUS
                i2c.write_then_readinto(self._raw_buf, self._raw_buf, out_end=1, in_end=1)
        except OSError:
            return False
        return True

    # --- internals ------------------------------------------------------------------
    def _check_silent(self) -> None:
        """Read the drive back after configuring: at RTP 0 it must be none by the
        datasheet's transfer, else the chip is not set up as the station believes."""
        drive, settings = self.drive()
        if drive != 0.0:
            raise HardwareError(
                self.name,
                f"after start-up at RTP 0 the chip on {self._where} drives {drive:+.0%} of "
                f"full scale ({settings.describe()}); it must drive nothing. Every output "
                "is off: check that no other program talks to this chip on the I2C bus and "
                "that the board is a DRV2605L",
            )

    def _control3(self, control3: int) -> int:
        """CONTROL3 for the station's drive: signed RTP (DATA_FORMAT_RTP = 0); an ERM in
        open loop, an LRA in closed loop (auto-resonance). Other bits kept."""
        control3 &= ~CONTROL3_DATA_FORMAT_RTP & 0xFF
        if self.config.actuator == "lra":
            return control3 & ~CONTROL3_LRA_OPEN_LOOP & 0xFF
        return control3 | CONTROL3_ERM_OPEN_LOOP

    def _construct(self) -> adafruit_drv2605.DRV2605:
        try:
            return adafruit_drv2605.DRV2605(self._bus, ADDRESS)
        except ValueError as exc:
            if "No I2C device" not in str(exc):
                raise
            raise HardwareError(
                self.name, f"no DRV2605 answered at 0x5A on {self._where}; {self._check}"
            ) from exc
        except RuntimeError as exc:
            raise HardwareError(
                self.name,
                f"the chip at 0x5A on {self._where} reports device id {self._device_id()}, "
                "not a DRV2605 (3) or DRV2605L (7); check the board, and that no other "
                "device answers at 0x5A on that channel",
            ) from exc
        except OSError as exc:
            raise self._bus_error("initialising", exc) from exc

    def _configure(self) -> None:
        drv = self._drv
        assert drv is not None
        cfg = self.config
        lra = cfg.actuator == "lra"
        cal = cfg.calibration or (self._store.get(self.name) if self._store else None)
        try:
            feedback = drv._read_u8(FEEDBACK)
            feedback = feedback | LRA_BIT if lra else feedback & ~LRA_BIT
            if cal is not None:
                feedback = (feedback & 0xFC) | cal.back_emf_gain
            drv._write_u8(FEEDBACK, feedback)
            drv.library = adafruit_drv2605.LIBRARY_LRA if lra else adafruit_drv2605.LIBRARY_TS2200A
            drv._write_u8(RATED_VOLTAGE, cfg.rated_voltage)
            drv._write_u8(OD_CLAMP, cfg.overdrive_clamp)
            if cal is not None:
                drv._write_u8(A_CAL_COMP, cal.compensation)
                drv._write_u8(A_CAL_BEMF, cal.back_emf)
            drv._write_u8(CONTROL3, self._control3(drv._read_u8(CONTROL3)))
            drv.realtime_value = 0
            drv.mode = adafruit_drv2605.MODE_REALTIME
        except OSError as exc:
            raise self._bus_error("configuring", exc) from exc
        self._mode = adafruit_drv2605.MODE_REALTIME
        self.calibration = cal

    def _started(self) -> adafruit_drv2605.DRV2605:
        if self._drv is None:
            raise HardwareError(self.name, "not started (or switched off); call start() first")
        return self._drv

    def _device_id(self) -> str:
        try:
            with self._raw as i2c:
                self._raw_buf[0] = STATUS
                i2c.write_then_readinto(self._raw_buf, self._raw_buf, out_end=1, in_end=1)
            return str(self._raw_buf[0] >> 5)
        except OSError:
            return "(unreadable)"

    def _raw_write(self, reg: int, value: int) -> None:
        with self._raw as i2c:
            self._raw_buf[0] = reg
            self._raw_buf[1] = value
            i2c.write(self._raw_buf)

    def _drop_en(self) -> None:
        with contextlib.suppress(Exception):  # nothing more can be done from here
            self._enable.off()

    def _bus_error(self, doing: str, exc: OSError) -> HardwareError:
        return HardwareError(
            self.name, f"I2C error while {doing} on {self._where} ({exc}); {self._check}"
        )
