"""The session screen in German, in Debian's Chromium at phone size (390x844): a browser
whose language is German gets the page in German (Accept-Language and navigator.language
both say "de-DE"), the session's controls say what a German-speaking patient reads
("Sitzung starten", "Zu viel – jetzt stoppen", "STOPP"), the JavaScript's words come from
the same catalog ("Läuft.", "noch 0:42"), the longer German words still fit the first
screen, and axe still finds nothing (``<html lang="de">``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.axe import assert_no_violations
from tests.web.browser_kit import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PATIENT,
    PATIENT_PASSWORD,
    open_browser,
    outside_first_screen,
    station,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSION_CONTROLS = [
    "#live-state", "#live-step", "#progress", "#time-left", "button.rate", "#too-much",
    "#pause-button",
]  # fmt: skip


@pytest.fixture
def german_phone() -> Iterator[object]:
    with open_browser(width=390, height=844, touch=True, locale="de-DE") as pg:
        yield pg


def _text(pg, selector: str) -> str:
    return (pg.text_content(selector) or "").strip()


def _wait_text(pg, selector: str, text: str) -> None:
    pg.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.textContent || '').includes(t)",
        arg=[selector, text],
        timeout=10000,
    )


def test_a_session_in_german_at_phone_size(station, german_phone) -> None:  # noqa: F811
    pg, base = german_phone, station.base
    pg.goto(base + "/login")
    assert pg.get_attribute("html", "lang") == "de"
    assert _text(pg, "h1") == "Anmelden"
    assert pg.is_visible("nav.main form.lang button[value=en]")  # the switch, on the login page
    pg.fill("#name", PATIENT)
    pg.fill("#password", PATIENT_PASSWORD)
    pg.click("main button[type=submit]")
    pg.wait_for_url(base + "/")
    assert _text(pg, "#stop-button") == "STOPP"
    assert _text(pg, "#start-button") == "Sitzung starten"
    assert_no_violations(pg, "home in German")

    pg.click("#start-button")
    pg.wait_for_function("() => document.body.classList.contains('in-session')")
    _wait_text(pg, "#live-state", "Läuft")  # the status the script fetched, in German
    _wait_text(pg, "#time-left", "noch ")
    assert _text(pg, "#too-much") == "Zu viel – jetzt stoppen"
    assert _text(pg, "#pause-button") == "Pause"
    label = pg.get_attribute("button.rate[data-value='3']", "aria-label")
    assert label == "3 von 10 bewerten"
    assert outside_first_screen(pg, SESSION_CONTROLS) == []
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "browser-phone-de-session.png"))
    assert_no_violations(pg, "session screen in German")

    pg.click("button.rate[data-value='3']")
    _wait_text(pg, "#rate-result", "Gespeichert: 3 von 10")
    pg.click("#too-much")
    pg.wait_for_selector("#summary", state="visible")
    _wait_text(pg, "#summary-text", "gestoppt")
    assert "Tagebuch" in _text(pg, "#summary-prompt")

    # The page's own STOP, said by the script in German.
    pg.click("#stop-button")
    pg.wait_for_function("() => document.getElementById('stop-button').textContent === 'GESTOPPT'")

    # Back to English with the switch: the account remembers it.
    pg.click("nav.main form.lang button[value=en]")
    pg.wait_for_load_state("load")
    assert pg.get_attribute("html", "lang") == "en"
    assert _text(pg, "#stop-button") == "STOP"
