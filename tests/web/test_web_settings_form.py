"""The patient's settings form (web/settings_form.py, /settings): what a patient types is
saved as typed when it means a number in range, and anything else is answered in plain
words next to the field, never with validation-library text and never silently dropped.

Expected values: issue 14 ("save 80 and 72.5 as intensity"); the bounds are the
patient-settings contract (intensity more than 0 and at most 100 % of what the clinician
prescribed; brushing speed at most the protocol's cap: 10 cm/s for the built-in
vibration-ladder.toml's caps) and reminder times as HH:MM.
"""

from __future__ import annotations

import re

import pytest

from web import settings_form

CAPS = {"intensity_percent": 100.0, "brush_speed_cm_s": 10.0}


@pytest.mark.parametrize(
    ("typed", "value"), [("80", 80.0), ("72.5", 72.5), (" 100 ", 100.0), ("0.5", 0.5), (".5", 0.5)]
)
def test_whole_and_fractional_numbers_are_taken_as_typed(typed, value) -> None:
    changes, errors = settings_form.parse({"intensity_percent": typed}, caps=CAPS)
    assert errors == {} and changes == {"intensity_percent": value}


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("abc", "Please enter a number"),
        ("72,5", "with a point, e.g. 72.5"),
        ("150", "at most 100"),
        ("0", "more than 0"),
        ("-5", "more than 0"),
        ("nan", "Please enter a number"),
        ("inf", "Please enter a number"),
        ("1e3", "Please enter a number"),
    ],
)
def test_anything_else_is_said_in_plain_words(typed, words) -> None:
    changes, errors = settings_form.parse({"intensity_percent": typed}, caps=CAPS)
    assert changes == {}
    assert words in errors["intensity_percent"]
    assert typed.strip() in errors["intensity_percent"] or "%" in errors["intensity_percent"]


def test_an_empty_field_changes_nothing_and_times_are_checked() -> None:
    changes, errors = settings_form.parse(
        {"intensity_percent": "", "reminder_times": "8:00, 19:30"}, caps=CAPS
    )
    assert errors == {} and changes == {"reminder_times": ["08:00", "19:30"]}
    _, errors = settings_form.parse({"reminder_times": "08:00, 25:00"}, caps=CAPS)
    assert "'25:00' is not a time of day" in errors["reminder_times"]
    _, errors = settings_form.parse({"reminder_times": "08:00, 08:00"}, caps=CAPS)
    assert "listed twice" in errors["reminder_times"]


def _post(client, **form) -> tuple[int, str]:
    page = client.get("/settings").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/settings", data={"csrf_token": token, **form})
    if r.status_code == 302:
        r = client.get(r.headers["Location"])
    return r.status_code, r.get_data(as_text=True)


def _field_error(html: str, name: str) -> str:
    m = re.search(rf'<div class="field-error" id="e-{name}">([^<]*)</div>', html)
    return m.group(1) if m else ""


def test_the_page_saves_80_and_72_5_and_answers_next_to_the_field(patient, coord) -> None:
    for typed, value in (("80", 80.0), ("72.5", 72.5)):
        status, html = _post(patient, intensity_percent=typed)
        assert status == 200 and "Settings saved." in html
        assert coord.planner.settings().intensity_percent == value
        assert f'value="{typed}"' in html  # shown as typed, not "80.0"
    # No browser-side rule can block a value: a text field with a decimal keypad.
    assert 'inputmode="decimal"' in html and 'step="1"' not in html
    status, html = _post(patient, intensity_percent="150")
    assert status == 422 and "at most 100" in _field_error(html, "intensity_percent")
    assert 'value="150"' in html and 'aria-invalid="true"' in html
    status, html = _post(patient, brush_speed_cm_s="40")
    assert status == 422 and "at most 10 cm/s" in _field_error(html, "brush_speed_cm_s")
    # More reminders than the protocol's sessions a day: the core's refusal, worded here.
    status, html = _post(patient, reminder_times="07:00, 09:00, 11:00, 13:00")
    said = _field_error(html, "reminder_times")
    assert status == 422 and "3" in said and "07:00, 09:00, 11:00, 13:00" in said, said
    assert "Input should" not in html and "validation error" not in html
    assert coord.planner.settings().intensity_percent == 72.5  # nothing else was saved
