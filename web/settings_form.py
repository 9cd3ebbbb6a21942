"""The patient's settings form: read what was typed, say what is wrong in plain words.

The form's number fields are text fields with a decimal keypad (``inputmode=decimal``),
so the browser never silently blocks a value or sends an empty one in its place: what was
typed reaches this module, which accepts whole and fractional numbers ("80", "72.5") and
answers anything else with one sentence next to the field, naming what was typed, what is
allowed and an example. The core (``plan_edit.update_settings``) still validates every
change; a refusal from it is worded here for the field it names.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask_babel import gettext as _

from station.errors import StationError
from station.i18n import N_, language
from web.errors import ApiError, from_station_error

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
TIME = re.compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$")

NUMBER_FIELDS = ("intensity_percent", "brush_speed_cm_s")
EXAMPLE = {
    "intensity_percent": N_("80 or 72.5"),
    "brush_speed_cm_s": N_("3 or 2.5"),
}
UNIT = {"intensity_percent": " %", "brush_speed_cm_s": " cm/s"}


def _num(x: float) -> str:
    return f"{x:g}"


def parse(
    form: dict[str, str], *, caps: dict[str, float | None]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(changes, errors)``: the changed values and, per field, a plain-words error.

    ``caps`` holds each number field's highest allowed value (the clinician's limit)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in NUMBER_FIELDS:
        raw = (form.get(name) or "").strip()
        if raw == "":
            continue  # left empty: unchanged
        top = caps.get(name)
        allowed = (
            _("more than 0 and at most %(top)s", top=f"{_num(top)}{UNIT[name]}")
            if top
            else _("more than 0")
        )
        if "," in raw and "." not in raw and language() != "en":  # "72,5" where "," is the
            raw = raw.replace(",", ".")  # decimal sign (German): the number the person means
        if "," in raw and NUMBER.match(raw.replace(",", ".")):
            errors[name] = _(
                "Please write the decimal with a point, e.g. %(fixed)s (you wrote %(raw)s).",
                fixed=raw.replace(",", "."), raw=raw,
            )  # fmt: skip
            continue
        if not NUMBER.match(raw):
            errors[name] = _(
                "Please enter a number, e.g. %(example)s (you wrote %(raw)r). Allowed: "
                "%(allowed)s.", example=_(EXAMPLE[name]), raw=raw, allowed=allowed,
            )  # fmt: skip
            continue
        value = float(raw)
        if not math.isfinite(value) or value <= 0 or (top is not None and value > top):
            errors[name] = _(
                "%(value)s is not allowed: choose %(allowed)s.",
                value=f"{_num(value)}{UNIT[name]}", allowed=allowed,
            )  # fmt: skip
            continue
        changes[name] = value
    if "reminder_times" in form:
        times = [t.strip() for t in (form.get("reminder_times") or "").split(",") if t.strip()]
        bad = [t for t in times if not TIME.match(t)]
        if bad:
            errors["reminder_times"] = _(
                "%(bad)r is not a time of day: write times as hours:minutes, separated by "
                "commas, e.g. 08:00, 13:00, 19:00.", bad=bad[0],
            )  # fmt: skip
        elif len(set(times)) != len(times):
            errors["reminder_times"] = _("A time is listed twice: list each time once.")
        else:
            changes["reminder_times"] = sorted(t.zfill(5) for t in times)
    return changes, errors


def refusal(exc: StationError | ApiError, *, labels: dict[str, str]) -> tuple[str, str]:
    """``(field, sentence)`` for a change the core refused."""
    err = exc if isinstance(exc, ApiError) else from_station_error(exc)
    field = (err.field or "").split(".")[0]
    label = labels.get(field, field.replace("_", " ") or _("This setting"))
    allowed = ""
    if err.allowed is not None:
        allowed = " " + _("Allowed: %(allowed)s.", allowed=err.allowed)
    value = ", ".join(map(str, err.value)) if isinstance(err.value, list) else err.value
    if value is not None:
        head = _("%(label)s: not saved (you chose %(value)s).", label=label, value=value)
    else:
        head = _("%(label)s: not saved.", label=label)
    return field, f"{head} {err.message.rstrip('.')}.{allowed}"
