"""A small server-side SVG line chart, for the report's PDF (a PDF runs no JavaScript, so
the page's uPlot charts cannot be in it). Lines or steps over time, one colour per series,
a legend, and y-axis ticks; markup only (WeasyPrint draws inline SVG), no dependency.

Every value is written with ``markupsafe.escape`` and numbers are formatted, never pasted,
so a series named by a patient or clinician cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#b8860b", "#555555")
Point = tuple[float, float]


def line_chart(
    series: Mapping[str, Sequence[Point]],
    *,
    title: str,
    y_range: tuple[float, float] | None = None,
    y_label: str = "",
    x_labels: tuple[str, str] = ("", ""),
    stepped: bool = False,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """An ``<svg>`` of ``series`` (name -> [(x, y), ...], x ascending, e.g. epoch seconds).
    ``x_labels``: what the left and right ends of the x axis say (the period's days)."""
    left, right, top, bottom = 44, 12, 26, 34
    pw, ph = width - left - right, height - top - bottom
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    if y_range is not None:
        y0, y1 = y_range
    else:
        y0, y1 = (min(0.0, *ys), max(ys)) if ys else (0.0, 1.0)
    if y1 <= y0:
        y1 = y0 + 1

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="svg-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        yy = py(yv)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   'stroke="#ddd"/>')  # fmt: skip
        out.append(f'<text x="{left - 4}" y="{yy + 4:.1f}" font-size="10" '
                   f'text-anchor="end">{yv:g}</text>')  # fmt: skip
    if y_label:
        out.append(f'<text x="4" y="{top - 10}" font-size="10">{escape(y_label)}</text>')
    out.append(f'<text x="{left}" y="{height - 8}" font-size="10">{escape(x_labels[0])}</text>')
    out.append(f'<text x="{left + pw}" y="{height - 8}" font-size="10" text-anchor="end">'
               f"{escape(x_labels[1])}</text>")  # fmt: skip
    if not xs:
        out.append(f'<text x="{left + pw / 2}" y="{top + ph / 2}" font-size="12" '
                   'text-anchor="middle">Nothing recorded in this period</text>')  # fmt: skip
    legend_x = left
    for n, (name, pts) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        coords: list[str] = []
        for i, (x, y) in enumerate(pts):
            if stepped and i:
                coords.append(f"{px(x):.1f},{py(pts[i - 1][1]):.1f}")
            coords.append(f"{px(x):.1f},{py(y):.1f}")
        if stepped and pts:
            coords.append(f"{left + pw:.1f},{py(pts[-1][1]):.1f}")
        if len(coords) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                       f'points="{" ".join(coords)}"/>')  # fmt: skip
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>')
        out.append(f'<rect x="{legend_x}" y="8" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{legend_x + 14}" y="17" font-size="10">{escape(name)}</text>')
        legend_x += 24 + 6 * len(name)
    out.append("</svg>")
    return Markup("".join(out))
