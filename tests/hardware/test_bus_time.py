"""The simulated bus costs what a real I2C transfer costs on the wire.

Expected figures are counted by hand from the I2C-bus specification's framing (NXP
UM10204: a transfer opens with a START, every byte is 8 bits + 1 acknowledge clock, a
combined transfer has a repeated START, the transfer ends with a STOP; START, repeated
START and STOP counted as one bit time each) at Fast-mode 400 kHz (2.5 us a bit), and the
DRV2605 reference's "~29 bit times, ~73 us" for a register write. They are literals here,
not calls to the model's own formula.
"""

from __future__ import annotations

import errno
import time

import adafruit_drv2605
import pytest

from hardware.mux import MuxState
from hardware.sim import ManualClock
from hardware.sim.drv2605 import DRV2605Model
from hardware.sim.i2c import BusTiming, SimI2CBus
from hardware.sim.simulator import Simulator
from hardware.sim.tca9548a import TCA9548AModel
from hardware.trace import Trace
from station.wiring import load_wiring

# Hand counts (bits):
#   register write  S | addr+W A | reg A | value A | P          = 1 + 9 + 9 + 9 + 1 = 29
#   mux select      S | addr+W A | control A | P                = 1 + 9 + 9 + 1     = 20
#   register read   S | addr+W A | reg A | Sr | addr+R A | data A(N) | P
#                                                               = 1+9+9+1+9+9+1     = 39
#   address probe / NACK   S | addr+W N | P                     = 1 + 9 + 1         = 11
REGISTER_WRITE_US = 72.5  # 29 x 2.5 us
MUX_SELECT_US = 50.0  # 20 x 2.5 us
REGISTER_READ_US = 97.5  # 39 x 2.5 us
NACK_US = 27.5  # 11 x 2.5 us


def _bus(overhead_us: float = 0.0, hz: int = 400_000, spend: bool = False):
    clock = ManualClock()
    bus = SimI2CBus(
        trace=Trace(clock=clock),
        timing=BusTiming(frequency_hz=hz, host_overhead_us=overhead_us, spend=spend),
    )
    chip = bus.attach(0x5A, DRV2605Model(clock=clock, enabled=True), name="forearm")
    return bus, chip


def _locked(bus, fn):
    assert bus.try_lock()
    try:
        fn()
    finally:
        bus.unlock()


def test_register_write_is_29_bit_times_at_400_khz():
    bus, chip = _bus()
    _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 0x40))))
    assert chip.register("RTP_INPUT") == 0x40
    assert bus.last_ns == pytest.approx(REGISTER_WRITE_US * 1000)
    assert bus.bus_ns == pytest.approx(REGISTER_WRITE_US * 1000)


def test_register_read_counts_the_repeated_start_and_second_address():
    bus, _chip = _bus()
    out = bytearray(1)
    _locked(bus, lambda: bus.writeto_then_readfrom(0x5A, bytes((0x00,)), out))
    assert bus.last_ns == pytest.approx(REGISTER_READ_US * 1000)


def test_plain_read_and_mux_select():
    bus, _chip = _bus()
    mux = TCA9548AModel()
    bus.attach(0x70, mux, name="mux")
    _locked(bus, lambda: bus.writeto(0x70, b"\x01"))
    assert bus.last_ns == pytest.approx(MUX_SELECT_US * 1000)
    _locked(bus, lambda: bus.readfrom_into(0x70, bytearray(1)))  # S addr+R A data N P
    assert bus.last_ns == pytest.approx(MUX_SELECT_US * 1000)


def test_an_unanswered_address_costs_start_address_stop_and_still_raises():
    bus, chip = _bus()
    with pytest.raises(OSError) as exc:
        _locked(bus, lambda: bus.writeto(0x5B, bytes((0x02, 1))))
    assert exc.value.errno == errno.EREMOTEIO
    assert bus.last_ns == pytest.approx(NACK_US * 1000)
    chip.inject_fault("nack")
    with pytest.raises(OSError):
        _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 1))))
    assert bus.last_ns == pytest.approx(NACK_US * 1000)
    assert bus.transactions == 2


def test_clock_and_host_overhead_scale_the_cost():
    bus, _ = _bus(hz=100_000)  # Standard-mode: 10 us a bit
    _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 1))))
    assert bus.last_ns == pytest.approx(290_000)
    bus, _ = _bus(overhead_us=50.0)
    _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 1))))
    assert bus.last_ns == pytest.approx((REGISTER_WRITE_US + 50.0) * 1000)


def test_overhead_and_spend_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STATION_SIM_I2C_OVERHEAD_US", "80")
    monkeypatch.setenv("STATION_SIM_BUS_TIME", "spend")
    timing = BusTiming()
    assert timing.host_overhead_us == 80.0 and timing.spend is True
    monkeypatch.setenv("STATION_SIM_BUS_TIME", "count")
    assert BusTiming().spend is False
    monkeypatch.setenv("STATION_SIM_BUS_TIME", "sometimes")
    with pytest.raises(ValueError, match="spend, count"):
        BusTiming()
    monkeypatch.delenv("STATION_SIM_BUS_TIME")
    assert BusTiming().spend is False  # unit tests: count only, never wait


def test_spend_busy_waits_the_modelled_time_and_count_does_not():
    bus, _ = _bus(overhead_us=0.0, spend=True)
    t0 = time.perf_counter_ns()
    for _ in range(20):
        _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 1))))
    assert time.perf_counter_ns() - t0 >= 20 * REGISTER_WRITE_US * 1000
    bus, _ = _bus(overhead_us=10_000.0, spend=False)  # 10 ms a transaction, if spent
    t0 = time.perf_counter_ns()
    for _ in range(20):
        _locked(bus, lambda: bus.writeto(0x5A, bytes((0x02, 1))))
    assert time.perf_counter_ns() - t0 < 100_000_000  # far below the 200 ms modelled
    assert bus.bus_ns == pytest.approx(20 * (10_000 + REGISTER_WRITE_US) * 1000)


def test_per_tick_meter_through_the_caching_mux():
    """A tick that switches driver costs select + write; the next tick on the same
    driver only the write. The first mark after a reset opens a window, the next closes."""
    clock = ManualClock()
    bus = SimI2CBus(trace=Trace(clock=clock),
                    timing=BusTiming(host_overhead_us=50.0, spend=False))  # fmt: skip
    mux = TCA9548AModel()
    bus.attach(0x70, mux, name="mux")
    for ch in (0, 1):
        mux.attach(ch, 0x5A, DRV2605Model(clock=clock, enabled=True), name=f"d{ch}")
    state = MuxState(bus=bus)
    drv = [adafruit_drv2605.DRV2605(state.channel(ch)) for ch in (0, 1)]
    for d in drv:
        d.mode = adafruit_drv2605.MODE_REALTIME
    bus.reset_ticks()
    drv[1].realtime_value = 5  # before any mark: not part of a tick
    bus.tick_mark()
    drv[0].realtime_value = 10  # tick 1: select ch0 + write
    bus.tick_mark()
    drv[0].realtime_value = 11  # tick 2: write only
    bus.tick_mark()
    st = bus.tick_stats()
    assert st["ticks"] == 2
    assert st["transactions_worst"] == 2 and st["transactions_mean"] == 1.5
    select_and_write = (MUX_SELECT_US + 50) + (REGISTER_WRITE_US + 50)
    assert st["bus_us_worst"] == pytest.approx(select_and_write)
    assert st["bus_us_mean"] == pytest.approx((select_and_write + REGISTER_WRITE_US + 50) / 2,
                                              abs=0.1)  # fmt: skip


def test_simulator_builds_its_bus_at_the_wiring_clock(monkeypatch):
    monkeypatch.delenv("STATION_SIM_BUS_TIME", raising=False)
    wiring = load_wiring()
    sim = Simulator(wiring=wiring)
    assert sim.bus.timing.frequency_hz == wiring.i2c.frequency_hz
    assert sim.bus.timing.spend is False
    slow = wiring.model_copy(
        update={"i2c": wiring.i2c.model_copy(update={"frequency_hz": 100_000})}
    )
    assert Simulator(wiring=slow).bus.timing.bit_ns == pytest.approx(10_000)
