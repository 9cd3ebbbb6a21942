"""The page in the reader's language (issue 14, "Language"): every user-facing string goes
through Flask-Babel; English plus one complete second language (German) proves it; dates
and numbers follow the reader's locale.

What is expected comes from outside the code: the words a German-speaking patient reads
on the STOP button and the start button ("STOPP", "Sitzung starten"), German's decimal
comma and month names (CLDR: "3. März 2024", "0,5"), and HTTP's Accept-Language.
"""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from gettext import GNUTranslations
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.web.conftest import PAT, api_login

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
TRANSLATIONS = ROOT / "web" / "translations"
JS = ROOT / "web" / "static" / "js"
SECOND = "de"
DE_ACCEPT = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}

# Text a template may show untranslated: the product's name, units, symbols and codes
# that read the same in every language. Anything else in a text node or a user-facing
# attribute must be inside {{ _("...") }} or {% trans %}.
ALLOWED_LITERALS = {
    "Station",  # the product's name
    "cm/s", "Hz", "ms", "mm", "cm", "cm²", "%", "s", "min", "v",  # units, "v" of "v1.0"
    "CSV", "JSON", "PDF", "ID", "I2C", "LRA", "ERM", "VAS",  # formats and technical names
    "A_CAL_COMP", "A_CAL_BEMF", "BEMF_GAIN",  # DRV2605 register names
    "English", "Deutsch",  # each language names itself in the switch
}  # fmt: skip
TAG = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.S)
USER_ATTRS = {"title", "aria-label", "placeholder", "alt", "aria-description"}
GAP = "\u2063"  # where a {{ }} or {% %} stood


def _skeleton(source: str) -> str:
    """The template with every Jinja tag replaced by GAP and {% trans %} bodies dropped:
    what is left is the literal HTML a reader would see untranslated."""
    out, in_trans = [], False
    for part in TAG.split(source):
        if TAG.fullmatch(part or "-"):
            if re.match(r"{%-?\s*trans\b", part):
                in_trans = True
            elif re.match(r"{%-?\s*endtrans\b", part):
                in_trans = False
            out.append(GAP if part.startswith(("{{", "{%")) else "")
        else:
            out.append(GAP if in_trans else part)
    return "".join(out)


class _Literals(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._raw += 1
        for key, value in attrs:
            if key in USER_ATTRS and value:
                self._check(value, f"<{tag} {key}>")
            if key == "value" and value and dict(attrs).get("type") in ("submit", "button"):
                self._check(value, f"<{tag} value>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._raw = max(0, self._raw - 1)

    def handle_data(self, data: str) -> None:
        if not self._raw:
            self._check(data, "text")

    def _check(self, text: str, where: str) -> None:
        for piece in text.split(GAP):
            words = " ".join(piece.split()).strip(" ,.;:()-·/")  # punctuation between tags
            words = re.sub(r"^[\d.,]+\s*", "", words)  # a number before its unit
            if re.search(r"[A-Za-z]{2,}", words) and words not in ALLOWED_LITERALS:
                self.found.append(f"{where}: {words!r}")


def untranslated(source: str) -> list[str]:
    parser = _Literals()
    parser.feed(_skeleton(source))
    parser.close()
    return parser.found


def test_the_checker_finds_literal_text_and_passes_translated_text() -> None:
    """The template check can fail: a bare word, a bare aria-label, a literal between
    two expressions; and passes the same template translated."""
    bad = '<p>Hello {{ name }}, welcome</p><button aria-label="Close">x</button>'
    assert untranslated(bad) == ["text: 'Hello'", "text: 'welcome'", "<button aria-label>: 'Close'"]
    good = (
        '<p>{{ _("Hello %(name)s, welcome", name=name) }}</p>'
        '<button aria-label="{{ _("Close") }}">x</button>{% trans %}Hi {{ n }}{% endtrans %}'
        "<span>Station</span><span>12 cm/s</span><script>var a = 'Hello';</script>"
    )
    assert untranslated(good) == []


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_untranslated_text(name: str) -> None:
    assert untranslated((TEMPLATES / name).read_text(encoding="utf-8")) == []


def _catalog(tag: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS / tag / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=tag)


def test_the_second_language_is_complete_and_its_placeholders_match() -> None:
    cat = _catalog(SECOND)
    ids = [m for m in cat if m.id]
    assert len(ids) > 300  # every page, not a token few
    empty = [m.id for m in ids if not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in ids if m.fuzzy]
    assert empty == [] and fuzzy == []
    # %(name)s in Python and Jinja, {name} in the JavaScript: the same names both sides
    problems = [(m.id, errs) for m, errs in cat.check()]
    assert problems == []
    for m in ids:
        if isinstance(m.id, str) and any(str(p).endswith(".js") for p, _ in m.locations):
            assert set(re.findall(r"{(\w+)}", m.id)) == set(re.findall(r"{(\w+)}", m.string)), m.id


def test_the_catalogs_hold_every_string_the_sources_mark(tmp_path) -> None:
    """A string added to a template, a module or a script without `tools/i18n extract`
    (and a translation) fails here, not on a German page."""
    out = tmp_path / "check.pot"
    try:
        subprocess.run(
            [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
             "-k", "lazy_gettext", "-k", "_l", "-k", "N_", "-k", "_f", "-o", str(out), "."],
            cwd=ROOT, check=True, timeout=120,
        )  # fmt: skip
        with out.open("rb") as fh:
            marked = {m.id for m in read_po(fh) if m.id}
    finally:
        out.unlink(missing_ok=True)
    have = {m.id for m in _catalog(SECOND) if m.id}
    assert sorted(map(str, marked - have)) == []


@pytest.mark.parametrize("tag", ["en", SECOND])
def test_compiled_catalogs_are_not_stale(tag: str) -> None:
    """messages.mo says what messages.po says (tools/i18n compile; ./run and ./test)."""
    buf = io.BytesIO()
    write_mo(buf, _catalog(tag))
    buf.seek(0)
    fresh = GNUTranslations(buf)._catalog  # type: ignore[attr-defined]
    with (TRANSLATIONS / tag / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        shipped = GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    assert shipped == fresh


def _lang(page: str) -> str:
    m = re.search(r'<html lang="([^"]+)"', page)
    assert m, page[:200]
    return m.group(1)


def test_english_stays_the_default(app, users) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert _lang(page) == "en"
    assert ">STOP</button>" in page


def test_the_page_follows_accept_language(app, users) -> None:
    page = app.test_client().get("/", headers=DE_ACCEPT).get_data(as_text=True)
    assert _lang(page) == "de"
    assert ">STOPP</button>" in page
    assert "Anmelden" in page  # "Log in"
    assert "/i18n/de.js" in page  # the script's catalog in the same language
    other = (
        app.test_client().get("/", headers={"Accept-Language": "fr-FR,fr"}).get_data(as_text=True)
    )
    assert _lang(other) == "en"  # a language the page does not offer: English


def test_a_saved_choice_wins_over_the_browser_and_follows_the_account(app, users, coord) -> None:
    client = app.test_client()
    token = api_login(client, *PAT)
    r = client.post("/language", data={"locale": SECOND, "csrf_token": token, "next": "/settings"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings")
    assert coord.store.users.get(PAT[0]).locale == SECOND
    # another device, whose browser asks for English: the account's choice wins
    other = app.test_client()
    api_login(other, *PAT)
    page = other.get("/", headers={"Accept-Language": "en-GB,en"}).get_data(as_text=True)
    assert _lang(page) == "de"
    assert "Sitzung starten" in page  # "Start session"
    # a flash message, said in Python: the stop form's answer
    r = other.post("/stop", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert "Gestoppt. Alle Ausgänge sind aus." in r.get_data(as_text=True)
    # back to the browser's language
    token = client.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', token).group(1)  # type: ignore[union-attr]
    client.post("/language", data={"locale": "", "csrf_token": csrf})
    assert coord.store.users.get(PAT[0]).locale is None


def test_a_visitor_can_choose_on_the_login_page(app, users) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'action="/language"' in page and 'value="de"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/language", data={"locale": SECOND, "csrf_token": csrf, "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert _lang(page) == "de" and "Passwort" in page


def test_an_unknown_language_is_refused_naming_the_field(app, users) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post("/language", data={"locale": "xx", "csrf_token": csrf})
    assert r.status_code == 400
    said = html.unescape(r.get_data(as_text=True))
    assert "locale = 'xx'" in said and "de" in said and "en" in said
    # an open redirect is not a "next" page
    r = client.post(
        "/language", data={"locale": "en", "csrf_token": csrf, "next": "//evil.example"}
    )
    assert r.status_code == 303 and "evil" not in r.headers["Location"]


def test_dates_and_numbers_in_the_readers_locale(app) -> None:
    from web.i18n_format import human_day, human_time, number

    now = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    when = datetime(2024, 3, 3, 14, 5, tzinfo=UTC)
    assert human_time(when, tz=UTC, now=now, lang="en") == "3 Mar 2024 14:05"
    assert human_time(when, tz=UTC, now=now, lang="de") == "3. März 2024 14:05"
    assert human_day("2024-03-04", lang="de").startswith("Mo., 4. März 2024")
    assert number(0.5, lang="de") == "0,5" and number(1234.5, lang="en") == "1,234.5"
    with app.test_request_context("/", headers=DE_ACCEPT):
        assert human_time(now, tz=UTC, now=now) == "heute 09:00"


def test_a_session_page_shows_its_times_in_german(clinician, coord) -> None:
    from tests.web.conftest import wait_for

    sid = coord.store.sessions.current().id  # armed at start-up
    r = clinician.post("/api/start")
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: coord.store.sessions.get(sid).started_at is not None)
    clinician.post("/api/stop", json={"reason": "user"})
    wait_for(lambda: coord.store.sessions.get(sid).ended_at is not None)
    page = clinician.get(f"/clinician/sessions/{sid}", headers=DE_ACCEPT).get_data(as_text=True)
    assert _lang(page) == "de"
    assert "heute " in page  # started today, in German words
    assert "Sitzung" in page


def _js_literals() -> set[str]:
    found: set[str] = set()
    for f in JS.glob("*.js"):
        src = re.sub(r"(?m)^\s*//.*$", "", f.read_text(encoding="utf-8"))  # comments
        for m in re.finditer(r'\b_f?\(\s*"((?:[^"\\]|\\.)*)"', src):
            found.add(json.loads(f'"{m.group(1)}"'))
    return found


def test_the_script_catalog_serves_the_same_strings(app) -> None:
    client = app.test_client()
    de = client.get(f"/i18n/{SECOND}.json").get_json()
    assert de["locale"] == SECOND
    po = {m.id: m.string for m in _catalog(SECOND) if m.id}
    used = _js_literals()
    assert len(used) > 50
    assert sorted(used - set(de["messages"])) == []
    assert all(de["messages"][k] == po[k] for k in used)
    assert de["messages"]["STOPPING..."] == po["STOPPING..."] != "STOPPING..."
    en = client.get("/i18n/en.json").get_json()["messages"]
    assert en["STOPPING..."] == "STOPPING..."
    script = client.get(f"/i18n/{SECOND}.js")
    assert script.mimetype == "text/javascript"
    assert script.get_data(as_text=True).startswith("window.STATION_I18N = {")
    assert client.get("/i18n/xx.json").status_code == 404


def test_a_fresh_station_serves_the_catalog_to_its_setup_page(app) -> None:
    """Before the first clinician exists every page sends to /setup; the setup page's own
    scripts still need their words (a redirect there would break station.js)."""
    client = app.test_client()
    page = client.get("/setup", headers=DE_ACCEPT).get_data(as_text=True)
    assert _lang(page) == "de" and "/i18n/de.js" in page
    script = client.get("/i18n/de.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"


def test_german_pages_are_well_formed(app, clinician) -> None:
    """Translations end up in attributes too: none may break the markup."""
    for path in ("/", "/history", "/settings", "/journal", "/thresholds", "/clinician/",
                 "/clinician/patients", "/clinician/report", "/clinician/protocols"):  # fmt: skip
        r = clinician.get(path, headers=DE_ACCEPT)
        assert r.status_code == 200, path
        text = r.get_data(as_text=True)
        assert _lang(text) == "de", path
        for attr in re.findall(r'(?:aria-label|title|placeholder)="([^"]*)"', text):
            assert "<" not in attr and html.unescape(attr) == html.unescape(attr).strip(), path


def test_the_daily_limit_is_said_in_german_with_its_plural_and_day(app) -> None:
    """The core's words (station/storage/limits.py) follow the request's language:
    German plural forms and German day names (CLDR: Mittwoch 10 June 2026 -> "Mi., 10. Juni")."""
    from datetime import timedelta

    from station.storage.limits import _message, describe_time

    now = datetime(2026, 6, 9, 20, 0, tzinfo=UTC)  # a Tuesday
    at = now + timedelta(hours=4)  # 00:00 on Wednesday
    english = _message("sessions_per_day", now, at, None, 2, None, 1, UTC)
    assert english == (
        "The protocol allows at most 2 sessions a day and 1 has been done today. "
        "The next session is allowed from 00:00 tomorrow (Wed 10 Jun)."
    )
    with app.test_request_context("/", headers=DE_ACCEPT):
        german = _message("sessions_per_day", now, at, None, 1, None, 2, UTC)
        assert german == (
            "Das Protokoll erlaubt höchstens 1 Sitzung am Tag und heute wurden 2 durchgeführt. "
            "Die nächste Sitzung ist möglich ab morgen 00:00 (Mi., 10. Juni)."
        )
        assert describe_time(now, now, UTC) == "heute 20:00"
