"""The session screen with a keyboard only (issue 14: "keyboard-only use of the session
screen"), in headless Chromium at phone (390x844) and desktop (1280x800) size: log in,
start, rate, pause, resume, reach STOP, press "too much", then a session whose rating step
asks its questions (discomfort and whether a sensation lingers), answered with Tab, Space,
Enter and the arrow keys only; no click anywhere.

Expected from WCAG 2.1 and the issue, not from the page's code: every control is reached
with Tab/Shift+Tab and worked with Enter/Space/arrows (2.1.1); the focused control shows
a focus indicator (2.4.7) whose colour has at least 3:1 contrast against the page (1.4.11);
axe finds no violation at the rating step and the summary; and when the screen changes
under the focus (Start disappears once a session runs, Pause and Resume swap, the session
ends) the focus goes to what replaced the control, never back to the top (2.4.3).
"""

from __future__ import annotations

import re

import pytest

from tests.web.axe import assert_no_violations
from tests.web.browser_kit import (  # noqa: F401  (fixtures)
    PATIENT,
    PATIENT_PASSWORD,
    api_post,
    page,
    shot,
    size,
    station,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const cs = getComputedStyle(e);
  return {id: e.id, cls: e.className, value: e.dataset.value || e.value || null,
          visible: e.matches(':focus-visible'), outline: cs.outlineStyle,
          width: parseFloat(cs.outlineWidth), colour: cs.outlineColor, shadow: cs.boxShadow,
          bg: getComputedStyle(document.body).backgroundColor};
}"""


def _luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+(?:\.\d+)?", css)[:3])

    def lin(c: float) -> float:  # WCAG 2.1 relative luminance
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def focused(pg) -> dict:
    got = pg.evaluate(FOCUSED)
    assert got is not None, "the focus fell back to the page (document.body)"
    return got


def assert_ring(pg, what: str) -> dict:
    """The focused element shows a focus indicator the patient can see."""
    f = focused(pg)
    assert f["visible"], f"{what}: focused but not :focus-visible ({f})"
    assert f["outline"] not in ("none", "hidden") and f["width"] >= 2, f"{what}: no outline: {f}"
    ratio = contrast(f["colour"], f["bg"])
    assert ratio >= 3.0, f"{what}: focus outline {f['colour']} on {f['bg']}: {ratio:.2f}:1"
    return f


def tab_to(pg, selector: str, *, back: bool = False, limit: int = 60) -> int:
    """Press Tab (Shift+Tab) until the selector has the focus; how many presses it took."""
    key = "Shift+Tab" if back else "Tab"
    for n in range(1, limit + 1):
        pg.keyboard.press(key)
        if pg.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return n
    raise AssertionError(f"{selector} never got the focus in {limit} x {key}")


def focus_on(pg, selector: str, timeout: float = 10000) -> None:
    pg.wait_for_function("(s) => !!document.activeElement?.matches(s)", arg=selector,
                         timeout=timeout)  # fmt: skip


def wait_text(pg, selector: str, text: str, timeout: float = 10000) -> None:
    pg.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.textContent || '').includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def status(pg, base: str) -> dict:
    return pg.request.get(base + "/api/status").json()


def test_session_screen_by_keyboard_only(station, page) -> None:  # noqa: F811
    base, pg = station.base, page
    kb = pg.keyboard
    pg.goto(base + "/login")
    tab_to(pg, "#name")
    assert_ring(pg, "user name")
    kb.type(PATIENT)
    kb.press("Tab")
    kb.type(PATIENT_PASSWORD)
    kb.press("Enter")
    pg.wait_for_url(base + "/")
    pg.wait_for_function("() => !document.getElementById('start-button').disabled")

    # Start: Tab to it, Enter. Start leaves the screen; the focus goes to the state line.
    presses = tab_to(pg, "#start-button")
    assert_ring(pg, "Start")
    kb.press("Enter")
    pg.wait_for_function("() => document.body.classList.contains('in-session')")
    wait_text(pg, "#live-state", "Running")
    focus_on(pg, "#live-state")
    assert_ring(pg, "state line after Start")
    sid = status(pg, base)["session"]["id"]

    # Rate 3: the rating buttons follow the state line; Space presses one.
    assert tab_to(pg, "button.rate[data-value='3']", limit=4) == 4
    assert_ring(pg, "rating 3")
    kb.press("Space")
    wait_text(pg, "#rate-result", "Saved: 3 of 10")
    ratings = pg.request.get(f"{base}/api/sessions/{sid}").json()["ratings"]
    assert [(r["value"], r["live"]) for r in ratings] == [(3, True)]

    # Pause, then Resume, from the keyboard: the focus stays where the patient's finger is.
    tab_to(pg, "#pause-button")
    assert_ring(pg, "Pause")
    kb.press("Enter")
    pg.wait_for_selector("#resume-button", state="visible")
    focus_on(pg, "#resume-button")
    assert_ring(pg, "Resume after Pause")
    assert status(pg, base)["state"] == "paused"
    kb.press("Enter")
    pg.wait_for_selector("#pause-button", state="visible")
    focus_on(pg, "#pause-button")
    assert status(pg, base)["state"] == "running"

    # The page's STOP is reachable from the session controls (not pressed here), and
    # "too much" is one Shift+Tab from Pause.
    tab_to(pg, "#stop-button")
    assert_ring(pg, "STOP")
    tab_to(pg, "#pause-button", back=True)
    assert tab_to(pg, "#too-much", back=True) == 1
    assert_ring(pg, "Too much")
    kb.press("Enter")
    pg.wait_for_selector("#summary", state="visible")
    wait_text(pg, "#summary-text", "stopped")
    focus_on(pg, "#summary-h")
    assert_ring(pg, "summary heading")
    assert pg.request.get(f"{base}/api/sessions/{sid}").json()["end_reason"] == "too_much"
    shot(pg, "keyboard-01-summary")

    # A session with its rating step (the simulated clock 3 h on, 50 times faster, as in
    # test_browser_session.py): the step's questions answered from the keyboard.
    assert api_post(pg, base, "/api/sim/clock", {"advance_s": 3 * 3600, "rate": 50}).ok
    try:
        pg.wait_for_function("() => !document.getElementById('start-button').disabled")
        tab_to(pg, "#start-button")
        kb.press("Enter")
        pg.wait_for_function(
            "() => fetch('/api/status').then(r => r.json()).then(s => s.step && s.step.kind === "
            "'rate' && s.state === 'paused')",
            timeout=20000,
        )
    finally:
        assert api_post(pg, base, "/api/sim/clock", {"rate": 1}).ok
    second = status(pg, base)["session"]["id"]
    pg.wait_for_selector("#q-lingering", state="visible")
    focused(pg)  # the session screen kept the focus through the step change
    assert_no_violations(pg, "the rating step with its questions")
    tab_to(pg, "button.rate[data-value='2']")
    kb.press("Space")
    tab_to(pg, "input[name=lingering]")  # the radio group: one Tab stop, arrows choose
    kb.press("ArrowRight")
    assert pg.is_checked("input[name=lingering][value=no]")
    assert_ring(pg, "lingering: No")
    tab_to(pg, "#send-answer")
    kb.press("Enter")
    wait_text(pg, "#rate-result", "Saved: 2 of 10")
    wait_text(pg, "#live-state", "press Resume")
    tab_to(pg, "#resume-button")
    kb.press("Enter")
    pg.wait_for_selector("#summary", state="visible", timeout=20000)
    wait_text(pg, "#summary-text", "complete")
    focus_on(pg, "#summary-h")
    tab_to(pg, "button.rate[data-value='1']")  # the overall rating the summary asks for
    kb.press("Enter")
    wait_text(pg, "#rate-result", "Saved: 1 of 10")
    latest = pg.request.get(f"{base}/api/sessions/{second}").json()
    assert latest["state"] == "completed"
    assert [(r["value"], r["live"]) for r in latest["ratings"]] == [(2, False), (1, False)]
    assert_no_violations(pg, "the summary of a completed session, rated")
    shot(pg, "keyboard-02-completed")
    print(f"keyboard: Start is {presses} Tab presses from the top ({pg.size_name})")
