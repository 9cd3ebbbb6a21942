"""hardware/wiring-diagram.svg must show the reference build exactly as
station/default_wiring.toml describes it: every EN pin, channel, PWM pin, button and LED."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from station.wiring import ButtonsRating, load_wiring

SVG = Path(__file__).resolve().parents[1] / "hardware" / "wiring-diagram.svg"
NS = "{http://www.w3.org/2000/svg}"


def groups(attr: str) -> dict[str, dict[str, str]]:
    root = ET.parse(SVG).getroot()
    return {g.attrib[attr]: g.attrib for g in root.iter(f"{NS}g") if attr in g.attrib}


def test_header_has_forty_pins_with_the_bcm_numbers():
    root = ET.parse(SVG).getroot()
    pins = {c.attrib["data-pin"]: c.attrib.get("data-gpio") for c in root.iter(f"{NS}circle")
            if "data-pin" in c.attrib}  # fmt: skip
    assert len(pins) == 40
    # spot checks against the Pi's pinout: physical 3/5 are I2C, 12 is GPIO18, 40 is GPIO21
    assert (pins["3"], pins["5"], pins["12"], pins["40"]) == ("2", "3", "18", "21")


def test_diagram_matches_default_wiring_pin_for_pin():
    wiring = load_wiring(None)
    haptics = groups("data-name")
    for h in wiring.haptic:
        g = haptics[h.name]
        assert int(g["data-channel"]) == h.channel, h.name
        assert int(g["data-enable-gpio"]) == h.enable_pin, h.name
        assert g["data-actuator"] == h.actuator, h.name
    for b in wiring.brush:
        assert int(haptics[b.name]["data-pwm-gpio"]) == b.pwm_pin
    buttons = {k: int(v["data-gpio"]) for k, v in groups("data-button").items()}
    panel = wiring.panel
    expected = {"start": panel.start_pin, "stop": panel.stop_pin, "estop": panel.estop_pin}
    assert isinstance(panel.rating, ButtonsRating)
    expected |= {"up": panel.rating.up_pin, "down": panel.rating.down_pin}
    assert buttons == expected
    leds = {k: int(v["data-gpio"]) for k, v in groups("data-led").items()}
    assert leds == dict(panel.led_pins)
