"""The TCA9548A model (with the unchanged Adafruit mux library) and the caching channel."""

from __future__ import annotations

import errno

import adafruit_drv2605
import adafruit_tca9548a
import pytest

from hardware.mux import CachedMuxChannel, MuxState
from hardware.sim import ManualClock
from hardware.sim.drv2605 import DRV2605Model
from hardware.sim.i2c import SimI2CBus
from hardware.sim.tca9548a import TCA9548AModel
from hardware.trace import Trace


@pytest.fixture
def setup():
    clock = ManualClock()
    trace = Trace(clock=clock)
    bus = SimI2CBus(trace=trace)
    mux = TCA9548AModel()
    bus.attach(0x70, mux, name="mux")
    models = {}
    for channel, name in enumerate(("forearm", "hand")):
        models[name] = mux.attach(channel, 0x5A, DRV2605Model(clock=clock, enabled=True), name=name)
    return bus, mux, models, trace


def test_adafruit_mux_library_runs_unchanged_at_three_transactions_per_write(setup):
    bus, mux, models, trace = setup
    tca = adafruit_tca9548a.TCA9548A(bus)
    forearm = adafruit_drv2605.DRV2605(tca[0])
    hand = adafruit_drv2605.DRV2605(tca[1])
    assert models["forearm"].register("MODE") == 0 and models["hand"].register("MODE") == 0
    before = bus.transactions
    forearm.realtime_value = 7
    assert bus.transactions - before == 3  # select, write, deselect
    assert models["forearm"].register("RTP_INPUT") == 7
    assert models["hand"].register("RTP_INPUT") == 0
    hand.realtime_value = 9
    assert models["hand"].register("RTP_INPUT") == 9
    selects = [r.value for r in trace.select("mux", "select")]
    assert selects[-4:] == [0x01, 0x00, 0x02, 0x00]
    assert mux.control == 0


def test_cached_channel_costs_one_transaction_per_rtp_update(setup):
    bus, _mux, models, _trace = setup
    state = MuxState(bus=bus, address=0x70)
    drv = adafruit_drv2605.DRV2605(state.channel(0))
    drv.mode = adafruit_drv2605.MODE_REALTIME
    before = bus.transactions
    for code in range(100):
        drv.realtime_value = code
    assert bus.transactions - before == 100
    assert models["forearm"].output() == (True, pytest.approx(99 / 127))
    assert state.channel(0) is state.channel(0)


def test_alternating_drivers_reselect_each_time(setup):
    bus, _mux, models, trace = setup
    state = MuxState(bus=bus, address=0x70)
    a = adafruit_drv2605.DRV2605(state.channel(0))
    b = adafruit_drv2605.DRV2605(state.channel(1))
    seq = trace.last_seq() + 1
    before = bus.transactions
    for code in range(10):
        a.realtime_value = code
        b.realtime_value = code
    assert bus.transactions - before == 40  # select + write, twice per round
    selects = [r.value for r in trace.since(seq) if r.what == "select"]
    assert selects == [1, 2] * 10
    assert models["forearm"].register("RTP_INPUT") == models["hand"].register("RTP_INPUT") == 9


def test_failed_transaction_invalidates_the_cached_selection(setup):
    bus, _mux, models, trace = setup
    state = MuxState(bus=bus, address=0x70)
    drv = adafruit_drv2605.DRV2605(state.channel(0))
    models["forearm"].inject_fault("nack")
    with pytest.raises(OSError):
        drv.realtime_value = 1
    assert state.selected is None
    models["forearm"].clear_faults()
    seq = trace.last_seq() + 1
    before = bus.transactions
    drv.realtime_value = 2
    assert bus.transactions - before == 2
    assert [(r.device, r.what) for r in trace.since(seq)] == [
        ("mux", "select"),
        ("forearm", "RTP_INPUT"),
    ]


def test_a_reset_mux_is_reselected_after_the_error(setup):
    bus, mux, models, _trace = setup
    state = MuxState(bus=bus, address=0x70)
    drv = adafruit_drv2605.DRV2605(state.channel(0))
    mux.reset()  # the mux lost its selection (e.g. a brown-out)
    with pytest.raises(OSError):
        drv.realtime_value = 3  # the driver is no longer reachable
    drv.realtime_value = 4  # retry reselects
    assert models["forearm"].register("RTP_INPUT") == 4


def test_two_channels_with_the_same_address_collide(setup):
    bus, _mux, _models, _trace = setup
    assert bus.try_lock()
    try:
        bus.writeto(0x70, b"\x03")
        with pytest.raises(OSError, match="collision") as err:
            bus.writeto(0x5A, b"\x02\x00")
    finally:
        bus.unlock()
    assert err.value.errno == errno.EIO
    assert "forearm" in str(err.value) and "hand" in str(err.value)


def test_channel_refuses_the_mux_address_and_missing_mux_is_an_error(setup):
    bus, mux, _models, _trace = setup
    state = MuxState(bus=bus, address=0x70)
    channel = state.channel(2)
    assert isinstance(channel, CachedMuxChannel)
    assert channel.try_lock()
    try:
        with pytest.raises(ValueError, match="multiplexer itself"):
            channel.writeto(0x70, b"\x00")
        assert channel.scan() == []  # nothing on channel 2
        mux.inject_fault("missing")
        with pytest.raises(OSError) as err:
            state.channel(0).writeto(0x5A, b"\x02\x00")
    finally:
        channel.unlock()
    assert err.value.errno == errno.EREMOTEIO
    with pytest.raises(ValueError, match=r"0\.\.7"):
        state.channel(8)


def test_scan_through_a_channel_and_deselect_all(setup):
    bus, mux, _models, _trace = setup
    state = MuxState(bus=bus, address=0x70)
    channel = state.channel(1)
    assert channel.try_lock()
    try:
        assert channel.scan() == [0x5A]
    finally:
        channel.unlock()
    state.deselect_all()
    assert mux.control == 0 and state.selected == 0
