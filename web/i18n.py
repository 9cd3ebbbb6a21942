"""The page's language (issue 14): Flask-Babel, the language each person sees, and the same
catalog for the page's JavaScript.

Which language a request gets: the account's saved choice (``users.locale``, set with the
switch in the page's header), else the choice made before logging in (kept in the
session cookie), else the browser's ``Accept-Language``, else English. English is the
source language (every msgid); ``web/translations/<tag>/LC_MESSAGES/messages.po`` holds
each other language, compiled to ``messages.mo`` (``tools/i18n``; ./run and ./test
recompile a stale one). Times are shown in the station's zone (``store.tz``;
``web/i18n_format.py``).

The JavaScript's strings (``_("...")`` in ``web/static/js``, extracted into the same
catalog) are served as ``/i18n/<tag>.json`` and as ``/i18n/<tag>.js``, a script that
sets ``window.STATION_I18N`` before station.js runs (CSP allows scripts from 'self' only,
no inline ones).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, get_locale
from flask_login import current_user

from web.errors import ApiError

TRANSLATIONS = Path(__file__).parent / "translations"
# The languages the page offers, each named in itself (the switch shows these names).
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT = "en"
SESSION_KEY = "locale"
JS_SOURCE = "web/static/js/"  # msgids used there go into the JavaScript catalog

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language of this request (see the module's docstring for the order)."""
    try:
        saved = current_user.locale if current_user.is_authenticated else None
    except Exception:  # outside a request with a user (a CLI render): no saved choice
        saved = None
    if saved in LANGUAGES:
        return str(saved)
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES.keys(), default=DEFAULT) or DEFAULT


def current_language() -> str:
    """The request's language tag ("en" outside a request)."""
    try:
        loc = get_locale()
    except Exception:
        return DEFAULT
    return str(loc) if loc is not None else DEFAULT


def init_i18n(app: Flask) -> None:
    """Flask-Babel on the app, the language switch and the JavaScript catalog."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {"html_lang": current_language(), "languages": LANGUAGES}

    from web import i18n_format

    i18n_format.register_filters(app)


@lru_cache(maxsize=8)
def _js_catalog(tag: str, mtime: float) -> dict[str, str]:
    """msgid -> msgstr of every message the JavaScript uses, read from the .po file (the
    same file the .mo is compiled from); English: the msgids themselves."""
    po = TRANSLATIONS / tag / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=tag)
    out: dict[str, str] = {}
    for msg in catalog:
        if not msg.id or not isinstance(msg.id, str) or msg.fuzzy:
            continue
        if not any(str(path).startswith(JS_SOURCE) for path, _line in msg.locations):
            continue
        out[msg.id] = str(msg.string) if msg.string else msg.id
    return out


def js_catalog(tag: str) -> dict[str, str]:
    if tag not in LANGUAGES:
        raise ApiError(
            404, "not_found", f"no language {tag!r}; the page offers {sorted(LANGUAGES)}",
            allowed=sorted(LANGUAGES),
        )  # fmt: skip
    po = TRANSLATIONS / tag / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return {}
    return _js_catalog(tag, po.stat().st_mtime)


@bp.get("/i18n/<tag>.json")
def catalog_json(tag: str) -> Any:
    """The JavaScript's strings in one language: ``{"locale", "messages": {msgid: text}}``."""
    return {"locale": tag, "messages": js_catalog(tag)}


@bp.get("/i18n/<tag>.js")
def catalog_script(tag: str) -> Response:
    """The same catalog as a script (loaded before station.js; no inline scripts)."""
    if tag not in LANGUAGES:
        abort(404)
    body = (
        "window.STATION_I18N = "
        + json.dumps(
            {"locale": tag, "messages": js_catalog(tag)}, ensure_ascii=False, sort_keys=True
        )
        + ";\n"
    )
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.post("/language")
def choose() -> Any:
    """The language switch: ``locale`` (a tag the page offers, or "" for the browser's).
    Saved on the account when logged in (it follows the person to another device), and
    in the session cookie either way (the login page has the switch too)."""
    tag = (request.form.get("locale") or "").strip()
    if tag and tag not in LANGUAGES:
        raise ApiError(
            400, "invalid",
            f"locale = {tag!r}: not a language this page offers; choose one of "
            f"{', '.join(sorted(LANGUAGES))} (or leave it empty for the browser's language)",
            field="locale", value=tag, allowed=sorted(LANGUAGES),
        )  # fmt: skip
    if tag:
        session[SESSION_KEY] = tag
    else:
        session.pop(SESSION_KEY, None)
    if current_user.is_authenticated:
        store = current_app.extensions["station.app.coordinator"].store
        store.users.set_locale(current_user.user_id, tag or None)
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("patient.home")
    return redirect(target, code=303)
