"""HapticDriver on the simulator: the real Adafruit driver, gpiozero mock EN pins, the
caching mux channel, and the DRV2605 register model as ground truth."""

from __future__ import annotations

import json

import pytest

from hardware.calibration import CalibrationStore
from hardware.haptics import HapticDriver
from hardware.interfaces import Haptic
from station.errors import ConfigError, HardwareError
from station.wiring import HapticCalibration
from tests.hardware.haptic_rig import Rig, config, make_rig, mock_pins


@pytest.fixture
def pins():
    with mock_pins() as made:
        yield made


@pytest.fixture
def rig(tmp_path, pins) -> Rig:
    return make_rig(tmp_path, pins)


def test_start_configures_lra_with_device_limits(rig):
    drv = rig.add(config(rated_voltage=0x53, overdrive_clamp=0x89, max_amplitude=0.9))
    assert isinstance(drv, Haptic)
    # Signed RTP full scale is 0x7F (SLOS854 transfer figures); 0.9 x 127 = 114.3, and
    # the limit must never be exceeded, so 114 (89.8 %), not 115 (90.6 %).
    assert drv.max_code == 114
    drv.start()
    m = rig.models["forearm"]
    assert rig.ens["forearm"].value == 1
    assert m.register("MODE") == 5 and m.register("RTP_INPUT") == 0
    assert m.register("FEEDBACK") & 0x80  # LRA
    assert m.register("LIBRARY_SEL") == 6
    assert m.register("RATED_VOLTAGE") == 0x53 and m.register("OD_CLAMP") == 0x89
    control3 = m.register("CONTROL3")
    assert not control3 & 0x08  # DATA_FORMAT_RTP = 0: signed, 0x00 = no drive in every mode
    assert not control3 & 0x01  # LRA_OPEN_LOOP = 0: closed loop, full scale RATED_VOLTAGE
    assert m.output() == (False, 0.0)


def test_start_configures_erm(rig):
    drv = rig.add(config(actuator="erm"))
    drv.start()
    m = rig.models["forearm"]
    assert not m.register("FEEDBACK") & 0x80
    assert m.register("LIBRARY_SEL") == 1
    assert m.register("CONTROL3") & 0x20  # ERM_OPEN_LOOP: full scale is OD_CLAMP
    assert not m.register("CONTROL3") & 0x08  # signed: RTP 0 is no drive, not full reverse
    assert m.output() == (False, 0.0)


def test_start_waits_for_the_chip_after_en(rig):
    drv = rig.add(config())
    drv._sleep = lambda s: None  # a driver that did not wait would meet a deaf chip
    with pytest.raises(HardwareError, match="no DRV2605 answered"):
        drv.start()
    assert rig.ens["forearm"].value == 0


def test_set_rtp_clamps_to_the_device_limit_in_one_write(rig):
    drv = rig.add(config(max_amplitude=0.5))
    drv.start()
    m = rig.models["forearm"]
    drv.set_rtp(10)
    before = rig.bus.transactions
    for code in (20, 40, 60):
        drv.set_rtp(code)
    assert rig.bus.transactions - before == 3
    drv.set_rtp(255)
    # 0.5 x 127 = 63.5 -> 63: 49.6 % of full scale, never the 50.4 % that rounding up gives
    assert m.register("RTP_INPUT") == 63 == drv.max_code
    active, drive = m.output()
    assert active and drive == pytest.approx(63 / 127) and drive <= 0.5
    drv.set_rtp(-4)
    assert m.register("RTP_INPUT") == 0
    assert m.output() == (False, 0.0)
    assert max(r.value for r in rig.trace.select("forearm", "RTP_INPUT")) == 63


def test_play_effect_then_back_to_rtp(rig):
    drv = rig.add(config())
    drv.start()
    m = rig.models["forearm"]
    drv.play_effect(14)
    assert (m.register("MODE"), m.register("WAV_FRM_SEQ1"), m.register("WAV_FRM_SEQ2")) == (
        0,
        14,
        0,
    )
    assert m.register("GO") == 1 and m.output()[0]
    rig.clock.advance(0.3)
    assert m.register("GO") == 0 and not m.output()[0]
    seq = rig.trace.last_seq() + 1
    drv.set_rtp(50)
    assert [(r.what, r.value) for r in rig.trace.since(seq)] == [("RTP_INPUT", 50), ("MODE", 5)]
    assert m.output() == (True, pytest.approx(50 / 127))


@pytest.mark.parametrize("bad", [0, 124, -1, True, 1.5, "1"])
def test_play_effect_validates_the_id(rig, bad):
    drv = rig.add(config())
    drv.start()
    with pytest.raises(ValueError, match="forearm: effect id"):
        drv.play_effect(bad)


def test_calls_before_start_are_errors(rig):
    drv = rig.add(config())
    with pytest.raises(HardwareError, match="call start"):
        drv.set_rtp(10)
    assert drv.check_faults() is None


def test_wrong_device_id_is_a_hardware_error_with_outputs_off(rig):
    drv = rig.add(config(), device_id=4)
    with pytest.raises(HardwareError) as err:
        drv.start()
    text = str(err.value)
    assert err.value.device == "forearm"
    assert "device id 4" in text and "mux channel 0" in text
    assert rig.ens["forearm"].value == 0
    assert rig.models["forearm"].output() == (False, 0.0)


def test_missing_chip_names_actuator_channel_and_what_to_check(rig):
    drv = rig.add(config(pin=27))
    rig.models["forearm"].inject_fault("missing")
    with pytest.raises(HardwareError) as err:
        drv.start()
    assert str(err.value).startswith("forearm: no DRV2605 answered at 0x5A on mux channel 0;")
    assert "channel 0 of the TCA9548A" in str(err.value) and "GPIO27" in str(err.value)
    assert rig.ens["forearm"].value == 0


def test_no_mux_wiring(tmp_path, pins):
    r = make_rig(tmp_path, pins, with_mux=False)
    drv = r.add(config(channel=None))
    drv.start()
    drv.set_rtp(100)
    assert r.models["forearm"].output()[0]
    drv.off()
    assert r.models["forearm"].output() == (False, 0.0)


def test_nack_mid_run_then_off_leaves_everything_off(rig):
    drv = rig.add(config())
    drv.start()
    m = rig.models["forearm"]
    drv.set_rtp(120)
    m.inject_fault("nack")
    with pytest.raises(HardwareError, match="I2C error while writing the RTP amplitude"):
        drv.set_rtp(130)
    assert m.output()[0]  # the hung chip keeps driving: only EN can stop it
    drv.off()
    assert rig.ens["forearm"].value == 0
    assert m.output() == (False, 0.0)
    drv.off()  # twice is fine


def test_over_temperature_and_over_current_are_reported(rig):
    drv = rig.add(config())
    drv.start()
    m = rig.models["forearm"]
    drv.set_rtp(200)
    assert drv.check_faults() is None
    m.inject_fault("over_temp")
    assert drv.check_faults() == "over-temperature"
    m.clear_faults()
    m.inject_fault("over_current")
    assert drv.check_faults() == "over-temperature and over-current"  # latched until read
    assert drv.check_faults() == "over-current"
    drv.off()
    assert rig.ens["forearm"].value == 0 and m.output() == (False, 0.0)


def test_check_faults_on_a_dead_bus_raises_hardware_error(rig):
    drv = rig.add(config())
    drv.start()
    rig.models["forearm"].inject_fault("missing")
    with pytest.raises(HardwareError, match="reading STATUS"):
        drv.check_faults()


def test_off_never_raises_even_when_en_fails(rig):
    drv = rig.add(config())
    drv.start()
    drv.set_rtp(50)

    class BrokenEnable:
        value = 1

        def off(self):
            raise RuntimeError("pin gone")

    drv._enable = BrokenEnable()
    rig.models["forearm"].inject_fault("nack")
    drv.off()  # must not raise


def test_off_without_start_still_writes_standby(rig):
    drv = rig.add(config())
    rig.models["forearm"].set_enabled(True)  # e.g. left on by a crashed process
    rig.clock.advance(0.001)
    seq = rig.trace.last_seq() + 1
    drv.off()
    writes = [(r.what, r.value) for r in rig.trace.since(seq) if r.device == "forearm"]
    assert ("RTP_INPUT", 0) in writes and ("MODE", 0x40) in writes


def test_calibration_round_trip_through_the_store(rig):
    drv = rig.add(config(rated_voltage=0x53))
    cal = drv.calibrate()
    m = rig.models["forearm"]
    assert cal == HapticCalibration(
        compensation=m.register("A_CAL_COMP"),
        back_emf=m.register("A_CAL_BEMF"),
        back_emf_gain=m.register("FEEDBACK") & 3,
    )
    assert cal != HapticCalibration(compensation=0x0C, back_emf=0x6C, back_emf_gain=2)
    assert m.register("MODE") == 5 and m.register("RTP_INPUT") == 0
    assert rig.store.get("forearm") == cal
    drv.off()
    # A fresh chip (registers at reset) gets the stored results written back at start.
    drv.start()
    assert m.register("A_CAL_COMP") == cal.compensation
    assert m.register("A_CAL_BEMF") == cal.back_emf
    assert m.register("FEEDBACK") & 3 == cal.back_emf_gain
    assert drv.calibration == cal


def test_config_calibration_wins_over_the_store(rig):
    rig.store.put("forearm", HapticCalibration(compensation=1, back_emf=2, back_emf_gain=1))
    pinned = HapticCalibration(compensation=20, back_emf=150, back_emf_gain=3)
    drv = rig.add(config(calibration=pinned))
    drv.start()
    m = rig.models["forearm"]
    assert (m.register("A_CAL_COMP"), m.register("A_CAL_BEMF")) == (20, 150)
    assert m.register("FEEDBACK") & 3 == 3


def test_failed_calibration_says_mount_the_actuator_and_turns_off(rig):
    drv = rig.add(config())
    rig.models["forearm"].actuator_connected = False
    with pytest.raises(HardwareError, match="must be mounted as in use"):
        drv.calibrate()
    assert rig.ens["forearm"].value == 0
    assert rig.store.get("forearm") is None


def test_corrupt_store_fails_start_cleanly(rig):
    rig.store.path.write_text("{not json")
    drv = rig.add(config())
    with pytest.raises(ConfigError, match=r"haptic_calibration\.json"):
        drv.start()
    assert rig.ens["forearm"].value == 0


def test_store_writes_atomically_and_reports_bad_values(tmp_path):
    store = CalibrationStore(tmp_path / "sub" / "cal.json")
    assert store.get("forearm") is None
    cal = HapticCalibration(compensation=13, back_emf=130, back_emf_gain=2)
    store.put("forearm", cal)
    store.put("hand", cal)
    assert store.all() == {"forearm": cal, "hand": cal}
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["cal.json"]  # no temp files
    doc = json.loads(store.path.read_text())
    doc["haptics"]["hand"]["back_emf_gain"] = 9
    store.path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as err:
        store.get("hand")
    assert "cal.json" in str(err.value) and "haptics.hand.back_emf_gain" in str(err.value)
    store.path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected"):
        store.get("forearm")


def test_two_drivers_behind_the_cached_mux(rig):
    a = rig.add(config("forearm", channel=0, pin=17))
    b = rig.add(config("hand", channel=1, pin=27))
    a.start()
    b.start()
    before = rig.bus.transactions
    for code in range(100):
        a.set_rtp(code)
    assert rig.bus.transactions - before == 101  # one reselect, then one write each
    before = rig.bus.transactions
    for code in range(10):
        a.set_rtp(code)
        b.set_rtp(code)
    # channel 0 is still selected for the first write; every later one switches
    assert rig.bus.transactions - before == 1 + 2 * 19
    a.off()
    assert rig.models["hand"].output() == (True, pytest.approx(9 / 127))
    assert rig.models["forearm"].output() == (False, 0.0)
    b.close()
    assert rig.models["hand"].output() == (False, 0.0)


def test_driver_is_usable_as_context_manager(rig):
    with rig.add(config()) as drv:
        drv.start()
        drv.set_rtp(30)
        assert rig.models["forearm"].output()[0]
    assert rig.ens["forearm"].value == 0


def test_hapticdriver_signature_is_keyword_only():
    with pytest.raises(TypeError):
        HapticDriver(config(), None, None)  # type: ignore[misc]
