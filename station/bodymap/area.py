"""The area of a drawn zone in cm^2: the union of its closed polygons, scaled.

Geometry by Shapely (GEOS), not by hand: a patient's freehand loop can cross itself (a
figure of eight) and two loops can overlap, and the zone is the UNION of what was drawn,
never the sum of the loops. ``shapely.make_valid`` turns a self-crossing loop into the
valid polygons it encloses, ``unary_union`` merges overlapping loops, ``.area`` is the
planar area (GEOS's shoelace sum over the rings, holes subtracted). The outline's units
become cm with the calibration (``station.bodymap.outlines``): one scale for both axes,
so an area scales by the square of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Polygon

from station.bodymap.outlines import Outline
from station.errors import InvalidInput

MAX_SHAPES = 20
MAX_POINTS = 2000  # per polygon: a finger-drawn loop thinned to ~1 unit spacing
MIN_POINTS = 3


@dataclass(frozen=True)
class Measured:
    area_cm2: float
    area_units2: float
    cm_per_unit: float
    shapes: list[list[list[float]]]  # as checked and stored (rounded to 0.01 unit)


def cm_per_unit(outline: Outline, length_cm: object) -> float:
    """The scale from the landmark length measured on the patient."""
    if (
        isinstance(length_cm, bool)
        or not isinstance(length_cm, int | float)
        or not math.isfinite(length_cm)
        or not outline.min_cm <= length_cm <= outline.max_cm
    ):
        allowed = f"{outline.min_cm:g}..{outline.max_cm:g} cm"
        raise InvalidInput(
            "length_cm", length_cm, allowed,
            f"length_cm = {length_cm!r}: the {outline.landmark_label} measured with a tape, "
            f"{allowed}",
        )  # fmt: skip
    return float(length_cm) / outline.landmark_units


def check_shapes(outline: Outline, shapes: Any) -> list[list[list[float]]]:
    """Closed polygons inside the outline's drawing area (the last point joins the first;
    a repeated first point at the end is accepted)."""
    if not isinstance(shapes, list) or not 1 <= len(shapes) <= MAX_SHAPES:
        raise InvalidInput("shapes", _count(shapes), f"1..{MAX_SHAPES} closed polygons",
                           f"shapes: draw 1..{MAX_SHAPES} closed outlines of the zone")  # fmt: skip
    out: list[list[list[float]]] = []
    for i, shape in enumerate(shapes):
        field = f"shapes[{i}]"
        if not isinstance(shape, list) or not MIN_POINTS <= len(shape) <= MAX_POINTS:
            raise InvalidInput(field, _count(shape), f"{MIN_POINTS}..{MAX_POINTS} points [x, y]")
        points: list[list[float]] = []
        for j, point in enumerate(shape):
            points.append(_point(outline, f"{field}[{j}]", point))
        if len(points) > MIN_POINTS and points[0] == points[-1]:
            points.pop()
        if len({(x, y) for x, y in points}) < MIN_POINTS:
            raise InvalidInput(field, len(points), "at least 3 different points",
                               f"{field}: a polygon needs at least 3 different points")  # fmt: skip
        out.append(points)
    return out


def measure(outline: Outline, shapes: Any, length_cm: object) -> Measured:
    """Check the drawing, then its area in outline units^2 and cm^2."""
    scale = cm_per_unit(outline, length_cm)
    checked = check_shapes(outline, shapes)
    parts = []
    for i, points in enumerate(checked):
        geom = shapely.make_valid(Polygon(points))
        if geom.area <= 0:
            raise InvalidInput(f"shapes[{i}]", "no area", "a closed outline around an area",
                               f"shapes[{i}]: the points lie on a line and enclose nothing; "
                               "draw around the zone")  # fmt: skip
        parts.append(geom)
    units2 = float(shapely.unary_union(parts).area)
    return Measured(
        area_cm2=round(units2 * scale * scale, 3),
        area_units2=units2,
        cm_per_unit=scale,
        shapes=checked,
    )


def _point(outline: Outline, field: str, point: Any) -> list[float]:
    ok = (
        isinstance(point, list | tuple)
        and len(point) == 2
        and all(
            not isinstance(c, bool) and isinstance(c, int | float) and math.isfinite(c)
            for c in point
        )
    )
    if not ok or not (0 <= point[0] <= outline.width and 0 <= point[1] <= outline.height):
        allowed = f"[x, y] with 0 <= x <= {outline.width:g}, 0 <= y <= {outline.height:g}"
        raise InvalidInput(field, point, allowed,
                           f"{field} = {point!r}: a point on the outline, {allowed}")  # fmt: skip
    return [round(float(point[0]), 2), round(float(point[1]), 2)]


def _count(value: Any) -> Any:
    return f"{len(value)} items" if isinstance(value, list) else value
