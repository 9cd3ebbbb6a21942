"""The body map's area in cm^2 (issue 16): known shapes drawn on calibrated outlines.

Truth from outside the code: the expected areas are those of the shapes as a clinician
would draw them on the skin (a 4 cm x 5 cm rectangle: 20 cm^2; a circle of radius 2.5 cm:
pi r^2), placed on the outline with the scale read from the SVG FILE's own landmark line
(what the patient sees) and the length measured on the patient, never from the
calibration constants under test. Done when: within 5 % of the known area.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from station.bodymap.area import measure
from station.bodymap.outlines import OUTLINES, outline
from station.errors import InvalidInput
from station.storage import Store

OUTLINE_DIR = Path(__file__).resolve().parents[1] / "web" / "static" / "outlines"
SVG = "{http://www.w3.org/2000/svg}"


def _drawn(outline_id: str) -> dict[str, float | str]:
    """The outline file as drawn: its viewBox and its landmark line."""
    root = ET.parse(OUTLINE_DIR / f"{outline_id}.svg").getroot()
    x0, y0, w, h = (float(v) for v in root.attrib["viewBox"].split())
    line = next(e for e in root.iter(f"{SVG}line") if e.get("id") == "landmark")
    x1, y1, x2, y2 = (float(line.attrib[k]) for k in ("x1", "y1", "x2", "y2"))
    return {"x0": x0, "y0": y0, "width": w, "height": h,
            "landmark": line.attrib["data-landmark"],
            "units": math.hypot(x2 - x1, y2 - y1)}  # fmt: skip


def _units_per_cm(outline_id: str, length_cm: float) -> float:
    return float(_drawn(outline_id)["units"]) / length_cm


def _rect(x: float, y: float, w_cm: float, h_cm: float, k: float) -> list[list[float]]:
    return [[x, y], [x + w_cm * k, y], [x + w_cm * k, y + h_cm * k], [x, y + h_cm * k]]


def _circle(cx: float, cy: float, r_cm: float, k: float, n: int = 72) -> list[list[float]]:
    return [
        [
            cx + r_cm * k * math.cos(2 * math.pi * i / n),
            cy + r_cm * k * math.sin(2 * math.pi * i / n),
        ]
        for i in range(n)
    ]


@pytest.mark.parametrize("outline_id", sorted(OUTLINES))
def test_the_calibration_is_the_one_drawn_in_each_outline_file(outline_id: str) -> None:
    drawn, o = _drawn(outline_id), outline(outline_id)
    assert (drawn["x0"], drawn["y0"], drawn["width"], drawn["height"]) == (0, 0, o.width, o.height)
    assert drawn["landmark"] == o.landmark
    assert drawn["units"] == pytest.approx(o.landmark_units, abs=0.01)


@pytest.mark.parametrize("hand", ["hand-left", "hand-right"])
def test_a_4_by_5_cm_rectangle_on_a_measured_hand_is_20_cm2(hand: str) -> None:
    length = 18.0  # hand length measured with a tape, wrist crease to middle fingertip
    k = _units_per_cm(hand, length)
    got = measure(outline(hand), [_rect(60, 140, 4, 5, k)], length).area_cm2
    assert got == pytest.approx(20.0, rel=0.05)
    assert got == pytest.approx(20.0, rel=0.001)  # a rectangle is exact


def test_a_circle_drawn_as_a_polygon_on_the_body_is_pi_r_squared() -> None:
    height = 170.0
    k = _units_per_cm("front", height)
    got = measure(outline("front"), [_circle(100, 160, 2.5, k)], height).area_cm2
    assert got == pytest.approx(math.pi * 2.5**2, rel=0.05)


def test_the_scale_comes_from_the_measured_length() -> None:
    """The same drawing on a hand twice as long covers four times the skin."""
    shape = [_rect(60, 140, 4, 5, _units_per_cm("hand-left", 18.0))]
    small = measure(outline("hand-left"), shape, 9.0).area_cm2
    large = measure(outline("hand-left"), shape, 18.0).area_cm2
    assert large == pytest.approx(20.0, rel=0.001)
    assert small == pytest.approx(5.0, rel=0.001)


def test_the_zone_is_the_union_of_what_was_drawn_not_the_sum() -> None:
    k = _units_per_cm("back", 170.0)
    a, b = _rect(70, 120, 4, 5, k), _rect(70 + 2 * k, 120, 4, 5, k)  # overlap 2 x 5 cm
    assert measure(outline("back"), [a, a], 170.0).area_cm2 == pytest.approx(20.0, rel=0.001)
    assert measure(outline("back"), [a, b], 170.0).area_cm2 == pytest.approx(30.0, rel=0.001)
    # A figure-of-eight loop (two triangles crossing at their tip): each 1/4 of the square.
    s = 5 * k
    eight = [[70, 120], [70 + s, 120 + s], [70 + s, 120], [70, 120 + s]]
    assert measure(outline("back"), [eight], 170.0).area_cm2 == pytest.approx(12.5, rel=0.001)


@pytest.mark.parametrize(
    ("outline_id", "shapes", "length", "field"),
    [
        ("hand-left", [[[10, 10], [20, 10], [20, 400]]], 18.0, "shapes[0][2]"),
        ("hand-left", [[[10, 10], [20, 10], [20, 20]]], 3.0, "length_cm"),
        ("front", [[[10, 10], [20, 10], [20, 20]]], 18.0, "length_cm"),
        ("hand-left", [[[10, 10], [20, 10]]], 18.0, "shapes[0]"),
        ("hand-left", [[[10, 10], [20, 20], [30, 30]]], 18.0, "shapes[0]"),
        ("hand-left", [[[10, 10], [20, float("nan")], [30, 30]]], 18.0, "shapes[0][1]"),
        ("hand-left", [], 18.0, "shapes"),
        ("foot", [[[10, 10], [20, 10], [20, 20]]], 18.0, "outline"),
    ],
)
def test_a_drawing_that_cannot_be_measured_is_refused_naming_the_field(
    outline_id: str, shapes: list, length: float, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        measure(outline(outline_id), shapes, length)
    assert err.value.field == field
    assert str(err.value)


def test_maps_are_stored_per_patient_with_the_area_and_calibration(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        first = store.patients.sole_id()
        other = store.patients.add("Second patient").id
        k = _units_per_cm("hand-right", 19.0)
        mine = store.for_patient(first).bodymaps
        saved = mine.add(outline_id="hand-right", shapes=[_rect(60, 140, 4, 5, k)],
                         length_cm=19.0, by="patient:pat")  # fmt: skip
        assert saved.area_cm2 == pytest.approx(20.0, rel=0.001)
        assert saved.calibration["length_cm"] == 19.0
        assert saved.calibration["landmark"] == "hand_length"
        assert [m.id for m in mine.history()] == [saved.id]
        assert store.for_patient(other).bodymaps.history() == []
        assert mine.latest_lengths() == {"hand_length": 19.0}
