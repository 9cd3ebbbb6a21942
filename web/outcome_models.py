"""The HTTP contract of ``/api/bodymap`` and ``/api/outcomes`` (issue 16): requests are
strict (``web.models.Strict``), answers list the fields always there
(``web.responses.Open``). Both validate every request (``web.contract``) and feed the
OpenAPI document. The store checks again what only it can (a point inside the chosen
outline, a length plausible for the chosen landmark) and names the field when it refuses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from station.bodymap.area import MAX_POINTS, MAX_SHAPES
from web.models import Strict
from web.responses import Open

OutlineId = Literal["front", "back", "hand-left", "hand-right"]
Measure = Literal["vas", "zone_area", "detection_threshold", "discrimination"]
Point = Annotated[list[float], Field(min_length=2, max_length=2, description="[x, y]")]
Shape = Annotated[list[Point], Field(min_length=3, max_length=MAX_POINTS)]
Vas = Annotated[int, Field(ge=0, le=100, description="0 no pain .. 100 worst imaginable")]
Every = Annotated[int, Field(ge=1, le=365, description="every how many days")]
Note = Annotated[str, Field(max_length=2000)]


class BodyMapIn(Strict):
    outline: OutlineId = Field(description="the outline drawn on")
    shapes: list[Shape] = Field(
        min_length=1,
        max_length=MAX_SHAPES,
        description="closed polygons around the sensitive zone, in the outline's "
        "coordinates (its SVG viewBox); the last point joins the first",
    )
    length_cm: float = Field(
        gt=0,
        le=250,
        description="the outline's landmark measured on the patient in cm: hand length "
        "(wrist crease to the tip of the middle finger) for a hand, body height for the body",
    )
    note: str = Field("", max_length=1000)


class BodyMapOut(Open):
    id: int
    at: str
    outline: OutlineId
    shapes: list[list[list[float]]]
    calibration: dict[str, Any]
    area_cm2: float
    note: str
    by: str | None


class BodyMapsOut(Open):
    maps: list[BodyMapOut] = Field(description="oldest first")
    outlines: list[dict[str, Any]]
    lengths: dict[str, float] = Field(description="the last length measured per landmark")
    area_over_time: dict[str, list[list[Any]]] = Field(
        description="per outline: [[time, area in cm^2], ...], oldest first"
    )


class ScheduleIn(Strict):
    """The whole schedule: a measure left out (or null) is no longer asked for."""

    vas: Every | None = Field(None, description="VAS at rest, in use, on touch: every N days")
    zone_area: Every | None = Field(None, description="a body map of the zone: every N days")
    detection_threshold: Every | None = Field(None, description="re-measure: every N days")
    discrimination: Every | None = Field(None, description="accuracy: every N days")


class VasIn(Strict):
    rest: Vas | None = None
    use: Vas | None = Field(None, description="in use (moving, working with the limb)")
    touch: Vas | None = None
    note: Note = ""


class FlareIn(Strict):
    note: Note = Field("", description="what happened, what helped")


class MedicationIn(Strict):
    medication: str = Field(min_length=1, max_length=200, pattern=r"\S")
    dose: str | None = Field(None, max_length=200)
    note: Note = ""


class DueOut(Open):
    measure: Measure
    label: str
    every_days: int
    since: str
    last_at: str | None
    due_at: str
    due: bool
    where: str


class TrendOut(Open):
    label: str
    unit: str
    series: dict[str, list[list[Any]]] = Field(description="name -> [[time, value], ...]")


class EntryOut(Open):
    id: int
    at: str
    kind: Literal["vas", "flare", "medication"]
    vas_rest: int | None
    vas_use: int | None
    vas_touch: int | None
    medication: str | None
    dose: str | None
    note: str
    by: str | None


class OutcomesOut(Open):
    schedule: list[DueOut]
    trends: dict[str, TrendOut]
    flares: list[dict[str, Any]]
    medication: list[dict[str, Any]]
    entries: list[EntryOut]
