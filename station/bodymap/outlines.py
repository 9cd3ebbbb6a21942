"""The body outlines a zone is drawn on, and how each one is calibrated to centimetres.

Each outline is an SVG file in ``web/static/outlines/`` drawn in its own coordinates
(``viewBox 0 0 width height``). It carries one LANDMARK: a segment of known anatomical
meaning (the body's height; the hand's length from the wrist crease to the tip of the
middle finger) drawn as ``<line id="landmark">``. Measuring that length on the patient
with a tape gives the scale: ``cm per outline unit = measured cm / landmark units``, and an
area drawn on the outline is ``area in units^2 x scale^2`` cm^2. A test reads the SVG
files and checks that the numbers below are the ones drawn, so drawing and calibration
cannot drift apart.

Why a measured length: a photo-free station has no other ruler, and the clinic already
measures hand length (wrist crease to the tip of the middle finger) for hand size charts.
The outline keeps its proportions when scaled (one scale for x and y), so a patient with
an unusually broad hand gets the area of a zone drawn on an average-shaped hand of their
length: good enough to follow a zone over weeks on one patient (the change is what
matters), not a substitute for a tracing on the skin.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.errors import InvalidInput
from station.i18n import N_


@dataclass(frozen=True)
class Outline:
    id: str
    label: str
    width: float  # the SVG viewBox
    height: float
    landmark: str  # what the patient measures
    landmark_label: str
    landmark_units: float  # the landmark's length in outline units
    min_cm: float  # a plausible measured length (a small child .. a tall adult)
    max_cm: float
    typical_cm: float

    @property
    def file(self) -> str:
        return f"outlines/{self.id}.svg"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "file": self.file,
            "width": self.width,
            "height": self.height,
            "landmark": self.landmark,
            "landmark_label": self.landmark_label,
            "landmark_units": self.landmark_units,
            "min_cm": self.min_cm,
            "max_cm": self.max_cm,
            "typical_cm": self.typical_cm,
        }


def _body(outline_id: str, label: str) -> Outline:
    return Outline(
        id=outline_id,
        label=label,
        width=200.0,
        height=500.0,
        landmark="body_height",
        landmark_label="body height (standing, top of the head to the soles)",
        landmark_units=484.0,  # y 8 .. 492
        min_cm=50.0,
        max_cm=250.0,
        typical_cm=170.0,
    )


def _hand(outline_id: str, label: str) -> Outline:
    return Outline(
        id=outline_id,
        label=label,
        width=200.0,
        height=300.0,
        landmark="hand_length",
        landmark_label="hand length (wrist crease to the tip of the middle finger)",
        landmark_units=250.0,  # y 12 .. 262
        min_cm=5.0,
        max_cm=30.0,
        typical_cm=18.5,
    )


OUTLINES: dict[str, Outline] = {
    o.id: o
    for o in (
        _body("front", N_("Body, front")),  # translated where shown (bodymap.html)
        _body("back", N_("Body, back")),
        _hand("hand-left", N_("Left hand, palm side")),
        _hand("hand-right", N_("Right hand, palm side")),
    )
}
OUTLINE_IDS: tuple[str, ...] = tuple(OUTLINES)


def outline(outline_id: object) -> Outline:
    """The outline named ``outline_id`` (``InvalidInput`` naming the choices)."""
    if not isinstance(outline_id, str) or outline_id not in OUTLINES:
        raise InvalidInput(
            "outline", outline_id, list(OUTLINE_IDS),
            f"outline = {outline_id!r}: choose one of {', '.join(OUTLINE_IDS)}",
        )  # fmt: skip
    return OUTLINES[outline_id]
