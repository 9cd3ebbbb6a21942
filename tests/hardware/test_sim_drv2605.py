"""The DRV2605 register model and the simulated bus, driven by the unchanged Adafruit code."""

from __future__ import annotations

import errno

import adafruit_drv2605
import pytest
from adafruit_bus_device.i2c_device import I2CDevice
from adafruit_drv2605 import Effect, Pause

from hardware.sim import ManualClock
from hardware.sim.drv2605 import AUTO_CAL_MS, DRV2605Model
from hardware.sim.drv2605_effects import EFFECTS
from hardware.sim.i2c import SimI2CBus
from hardware.trace import Trace


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def sim(clock):
    trace = Trace(clock=clock)
    bus = SimI2CBus(trace=trace)
    model = DRV2605Model(clock=clock, enabled=True)
    bus.attach(0x5A, model, name="forearm")
    return bus, model, trace


def read(bus, reg: int) -> int:
    dev = I2CDevice(bus, 0x5A, probe=False)
    buf = bytearray(1)
    with dev:
        dev.write_then_readinto(bytes([reg]), buf)
    return buf[0]


def write(bus, reg: int, value: int) -> None:
    dev = I2CDevice(bus, 0x5A, probe=False)
    with dev:
        dev.write(bytes([reg, value]))


def test_reset_defaults_standby_and_device_id(clock):
    bus = SimI2CBus()
    lite = bus.attach(0x5A, DRV2605Model(clock=clock, enabled=True))
    assert read(bus, 0x01) == 0x40  # standby after reset
    assert read(bus, 0x00) >> 5 == 7
    assert read(bus, 0x16) == 0x3E and read(bus, 0x17) == 0x8C and read(bus, 0x1D) == 0xA0
    bus.detach(0x5A)
    bus.attach(0x5A, DRV2605Model(clock=clock, enabled=True, device_id=3))
    assert read(bus, 0x00) >> 5 == 3
    assert lite.output() == (False, 0.0)


def test_adafruit_driver_constructs_and_leaves_standby(sim, clock):
    bus, model, _trace = sim
    drv = adafruit_drv2605.DRV2605(bus)
    assert model.register("MODE") == 0x00
    assert model.register("LIBRARY_SEL") == 1
    assert model.register("CONTROL3") & 0x20  # ERM open loop, as the library sets it
    assert drv.mode == adafruit_drv2605.MODE_INTTRIG
    assert not model.output()[0]  # constructing plays nothing
    assert bus.transactions > 17


def test_sequence_plays_and_go_clears_after_the_effects(sim, clock):
    bus, model, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.sequence[0] = Effect(1)
    drv.sequence[1] = Pause(0.1)
    drv.sequence[2] = Effect(50)
    drv.sequence[3] = Effect(0)
    drv.play()
    click_ms, click_strength = EFFECTS[1]
    buzz_ms, buzz_strength = EFFECTS[50]
    assert model.output() == (True, click_strength)
    clock.advance((click_ms + 50) / 1000)  # inside the pause: GO still 1, nothing driven
    assert model.register("GO") == 1
    assert model.output() == (False, 0.0)
    clock.advance(0.06)
    assert model.output() == (True, buzz_strength)
    clock.advance((buzz_ms - 10) / 1000 - 0.01)
    assert model.register("GO") == 1
    clock.advance(0.011)
    assert read(bus, 0x0C) == 0
    assert model.output() == (False, 0.0)


@pytest.mark.parametrize(("effect", "ms"), [(15, 750), (16, 1000)])
def test_alert_durations(sim, clock, effect, ms):
    bus, _, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.sequence[0] = Effect(effect)
    drv.play()
    clock.advance((ms - 1) / 1000)
    assert read(bus, 0x0C) == 1
    clock.advance(0.001)
    assert read(bus, 0x0C) == 0


def test_writing_go_zero_cancels(sim, clock):
    bus, model, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.sequence[0] = Effect(16)
    drv.play()
    clock.advance(0.1)
    assert model.output()[0]
    drv.stop()
    assert read(bus, 0x0C) == 0 and model.output() == (False, 0.0)


def test_adafruit_defaults_are_open_loop_erm_where_unsigned_zero_is_full_reverse(sim):
    """SLOS854 open-loop figure: signed 0x00 = 0, 0x7F = +OD_CLAMP, 0x81 = -OD_CLAMP;
    unsigned 0x80 = 0, 0xFF = +full, 0x00 = -full. The library leaves an ERM in open loop."""
    bus, model, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.realtime_value = 64
    drv.mode = adafruit_drv2605.MODE_REALTIME
    assert model.output() == (True, pytest.approx(64 / 127))
    drv.realtime_value = 200  # signed: -56, reverse drive (counter-rotation) of 56 steps
    assert model.output() == (True, pytest.approx(-56 / 127))
    drv.realtime_value = -127
    assert model.output() == (True, -1.0)
    write(bus, 0x1D, read(bus, 0x1D) | 0x08)  # DATA_FORMAT_RTP = 1: unsigned
    drv.realtime_value = 0x80
    assert model.output() == (False, 0.0)  # mid-scale: no drive
    drv.realtime_value = 0
    assert model.output() == (True, -1.0)  # the first round's bug: full reverse drive
    drv.realtime_value = 0xFF
    assert model.output() == (True, 1.0)


def test_standby_silences_rtp_and_dev_reset_restores_defaults(sim):
    bus, model, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.realtime_value = 100
    drv.mode = adafruit_drv2605.MODE_REALTIME
    assert model.output()[0]
    write(bus, 0x01, 0x45)  # standby bit with RTP mode
    assert model.output() == (False, 0.0)
    write(bus, 0x01, 0x80)  # DEV_RESET
    assert read(bus, 0x01) == 0x40  # self-cleared, back in standby
    assert read(bus, 0x02) == 0 and read(bus, 0x03) == 1


def test_wrong_device_id_is_refused_by_adafruit(clock):
    bus = SimI2CBus()
    bus.attach(0x5A, DRV2605Model(clock=clock, enabled=True, device_id=4))
    with pytest.raises(RuntimeError, match="Failed to find DRV2605"):
        adafruit_drv2605.DRV2605(bus)


def test_missing_chip_is_no_i2c_device(sim):
    bus, model, _ = sim
    model.inject_fault("missing")
    with pytest.raises(ValueError, match="No I2C device at address: 0x5a"):
        adafruit_drv2605.DRV2605(bus)
    assert 0x5A not in bus.scan()


def test_nack_mid_run_keeps_driving_until_en_drops(sim):
    bus, model, trace = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.realtime_value = 90
    drv.mode = adafruit_drv2605.MODE_REALTIME
    model.inject_fault("nack")
    with pytest.raises(OSError) as err:
        drv.realtime_value = 0
    assert err.value.errno == errno.EREMOTEIO
    assert trace.select("forearm", "RTP_INPUT")[-1].value == 90  # the 0 never landed
    assert model.output()[0]  # RTP has no timeout: the hung chip keeps buzzing
    model.set_enabled(False)
    assert model.output() == (False, 0.0)


def test_over_temperature_flag_latches_and_clears_on_read(sim):
    bus, model, _ = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.realtime_value = 90
    drv.mode = adafruit_drv2605.MODE_REALTIME
    model.inject_fault("over_temp")
    assert model.output() == (False, 0.0)  # the chip shuts its output down
    assert read(bus, 0x00) & 0x02
    model.clear_faults()
    assert read(bus, 0x00) & 0x02  # still latched until read
    assert not read(bus, 0x00) & 0x03
    model.inject_fault("over_current")
    assert read(bus, 0x00) & 0x01
    with pytest.raises(ValueError, match="unknown fault"):
        model.inject_fault("smoke")


def test_en_low_shuts_down_and_rising_edge_resets(sim, clock):
    bus, model, trace = sim
    drv = adafruit_drv2605.DRV2605(bus)
    drv.realtime_value = 90
    drv.mode = adafruit_drv2605.MODE_REALTIME
    model.set_enabled(False)
    with pytest.raises(OSError):
        read(bus, 0x01)
    model.set_enabled(True)
    with pytest.raises(OSError):  # not within 250 us of EN rising
        read(bus, 0x01)
    clock.advance(250e-6)
    assert read(bus, 0x01) == 0x40 and read(bus, 0x02) == 0
    assert [r.value for r in trace.select("forearm", "EN")] == [0, 1]


def test_auto_calibration_takes_its_time_and_writes_results(sim, clock):
    bus, model, _ = sim
    write(bus, 0x1A, 0xB6)  # LRA
    write(bus, 0x16, 0x53)
    write(bus, 0x1E, 0x30)  # AUTO_CAL_TIME 3
    write(bus, 0x01, 0x07)
    write(bus, 0x0C, 0x01)
    assert model.output()[0]
    clock.advance(AUTO_CAL_MS[3] / 1000 - 0.001)
    assert read(bus, 0x0C) == 1
    clock.advance(0.001)
    assert read(bus, 0x0C) == 0
    assert not read(bus, 0x00) & 0x08  # DIAG_RESULT 0 = success
    assert (read(bus, 0x18), read(bus, 0x19)) != (0x0C, 0x6C)  # not the reset defaults
    assert read(bus, 0x1A) & 0x80  # actuator type kept


def test_auto_calibration_failure_sets_diag_result(sim, clock):
    bus, model, _ = sim
    model.actuator_connected = False
    write(bus, 0x01, 0x07)
    write(bus, 0x0C, 0x01)
    clock.advance(2)
    assert read(bus, 0x0C) == 0
    assert read(bus, 0x00) & 0x08
    assert (read(bus, 0x18), read(bus, 0x19)) == (0x0C, 0x6C)


def test_trace_records_every_landed_write_with_timestamps(sim, clock):
    bus, _model, trace = sim
    drv = adafruit_drv2605.DRV2605(bus)
    start = trace.last_seq() + 1
    drv.realtime_value = 10
    clock.advance(0.005)
    drv.mode = adafruit_drv2605.MODE_REALTIME
    new = trace.since(start)
    assert [(r.device, r.what, r.value) for r in new] == [
        ("forearm", "RTP_INPUT", 10),
        ("forearm", "MODE", 5),
    ]
    assert new[1].t_ns - new[0].t_ns == 5_000_000


def test_bus_counts_transactions_and_requires_the_lock(sim):
    bus, _, _ = sim
    before = bus.transactions
    read(bus, 0x00)
    write(bus, 0x02, 0)
    assert bus.transactions == before + 2
    with pytest.raises(RuntimeError, match="lock"):
        bus.writeto(0x5A, b"\x02\x00")
    assert bus.try_lock()
    assert not bus.try_lock()
    bus.unlock()


def test_absent_address_is_eremoteio(sim):
    bus, _, _ = sim
    assert bus.try_lock()
    try:
        with pytest.raises(OSError) as err:
            bus.writeto(0x40, b"\x00")
    finally:
        bus.unlock()
    assert err.value.errno == errno.EREMOTEIO
    assert bus.scan() == [0x5A]
