"""Dates, times and numbers in the reader's language (issue 14), in the station's zone.

Times are the station's (``store.tz``; None: the system's zone), as everywhere on the
page; the words and the order are the reader's language (CLDR data through Babel):
"today 14:05" / "heute 14:05", "Mon 3 Mar 14:05" / "Mo. 3. März 14:05", "0.5" / "0,5".
Outside a request (a CLI render) everything is English.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal as _babel_decimal
from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _

from station.storage.limits import local
from web.i18n import DEFAULT, current_language

# English keeps the station's own short forms ("Mon 3 Mar 14:05", which its tests and
# clinicians know); another language takes its CLDR skeletons (day-month order, names).
_EN_PATTERNS = {"MMMEd": "EEE d MMM", "yMMMd": "d MMM y", "yMMMEd": "EEE d MMM y"}


def _pattern(skeleton: str, lang: str) -> str:
    if lang == DEFAULT:
        return _EN_PATTERNS[skeleton]
    from babel import Locale
    from babel.dates import match_skeleton

    loc = Locale.parse(lang)
    fmt = (
        loc.datetime_skeletons.get(skeleton)
        or loc.datetime_skeletons[match_skeleton(skeleton, loc.datetime_skeletons) or "yMMMd"]
    )
    return fmt.pattern


def _day(d: date | datetime, skeleton: str, lang: str) -> str:
    return _babel_date(d, _pattern(skeleton, lang), locale=lang)


def _clock(at: datetime, lang: str) -> str:
    return _babel_datetime(at, "HH:mm", tzinfo=at.tzinfo, locale=lang)


def human_time(
    when: datetime | str | None, *, tz: tzinfo | None, now: datetime, lang: str | None = None
) -> str:
    """``when`` as a person reads it in the station's zone and the reader's language:
    "today 14:05", "yesterday 09:30", "Mon 3 Mar 14:05" (this year), "3 Mar 2024 14:05"."""
    if when is None or when == "":
        return "-"
    lang = lang or current_language()
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    at = local(when, tz)
    today = local(now, tz).date()
    clock = _clock(at, lang)
    if at.date() == today:
        return _("today %(time)s", time=clock)
    if (today - at.date()).days == 1:
        return _("yesterday %(time)s", time=clock)
    if at.year == today.year:
        return f"{_day(at, 'MMMEd', lang)} {clock}"
    return f"{_day(at, 'yMMMd', lang)} {clock}"


def human_day(day: date | str, *, lang: str | None = None) -> str:
    """A calendar day: "Mon 3 Mar 2025" / "Mo., 3. März 2025"."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return _day(d, "yMMMEd", lang or current_language())


def number(value: Any, *, digits: int | None = None, lang: str | None = None) -> str:
    """A number with the reader's decimal sign ("0.5" / "0,5"); ``digits``: at most that
    many decimals. Text that is not a number is shown as it is."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if digits is None:  # as many decimals as the value has ("0.0" stays "0.0" / "0,0")
        shown = repr(value).partition(".")[2] if isinstance(value, float) else ""
        digits = len(shown) if shown.isdigit() else 0
        fmt = "#,##0." + "0" * min(digits, 6) if digits else "#,##0"
    else:
        fmt = "#,##0." + "#" * digits if digits else "#,##0"
    return _babel_decimal(value, format=fmt, locale=lang or current_language())


def _store() -> Any:
    return current_app.extensions["station.app.coordinator"].store


def when_filter(value: datetime | str | None) -> str:
    """Jinja ``|when``: a stored time as the reader reads it (station zone, their words)."""
    if not has_app_context():
        return "-" if value in (None, "") else str(value)
    store = _store()
    return human_time(value, tz=store.tz, now=store.now())


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["when"] = when_filter
    app.jinja_env.filters["day"] = lambda d: "-" if d in (None, "") else human_day(d)
    app.jinja_env.filters["number"] = lambda v, digits=None: number(v, digits=digits)
