"""Words the page shows, from the core (issue 14): ``_`` translates into the language of
the web request being answered (Flask-Babel, ``web/i18n.py``), and outside one (the CLI,
the engine's threads, tests of the core) gives the English text back as it is.

``N_`` only marks a text for ``pybabel extract`` (tables of words built at import time);
the caller translates it with ``_`` when it is used.
"""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    return text


def _(text: str, **variables: Any) -> str:
    try:
        from flask import has_request_context
        from flask_babel import gettext
    except ImportError:  # pragma: no cover - the station always has Flask
        return text % variables if variables else text
    if not has_request_context():
        return text % variables if variables else text
    return str(gettext(text, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``singular`` or ``plural`` by ``num`` (``%(num)d`` is filled in), translated."""
    try:
        from flask import has_request_context
        from flask_babel import ngettext as babel_ngettext
    except ImportError:  # pragma: no cover
        has_request_context = None  # type: ignore[assignment]
    if has_request_context is None or not has_request_context():
        return (singular if num == 1 else plural) % {"num": num, **variables}
    return str(babel_ngettext(singular, plural, num, **variables))  # fills in num itself


def language() -> str:
    """The language tag of the web request being answered; "en" outside one."""
    try:
        from flask import has_request_context
        from flask_babel import get_locale
    except ImportError:  # pragma: no cover
        return "en"
    if not has_request_context():
        return "en"
    loc = get_locale()
    return str(loc) if loc is not None else "en"


def short_day(day: Any, *, year: bool = False) -> str:
    """A day as "Sun 10 May" (``year``: "Tue 12 May 2026") in English, and in the
    language's own order and names otherwise ("So., 10. Mai")."""
    lang = language()
    if lang == "en":
        return day.strftime("%a ") + str(day.day) + day.strftime(" %b" + (" %Y" if year else ""))
    from babel import Locale
    from babel.dates import format_date

    skeletons = Locale.parse(lang).datetime_skeletons
    pattern = skeletons.get("yMMMEd" if year else "MMMEd")
    return format_date(day, pattern.pattern if pattern else "medium", locale=lang)
