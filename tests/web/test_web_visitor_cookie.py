"""A visitor's session cookie is written when it changes, not on every request.

Found by the axe walk in Chromium: Flask-Login's strong session protection took a
visitor's session (it holds only the CSRF token) for a stolen one on every request and
sent a new cookie each time, so a status poll in flight overwrote the cookie that the
page's STOP had just given its "Stopped" flash, and the flash never showed.
"""

from __future__ import annotations


def _session_cookie(resp) -> list[str]:
    return [c for c in resp.headers.get_all("Set-Cookie") if c.startswith("session=")]


def test_a_visitors_polls_do_not_rewrite_the_session_cookie(app, users) -> None:
    anon = app.test_client()
    assert _session_cookie(anon.get("/"))  # the page's CSRF token: the first cookie
    anon.get("/api/status")  # the identity, once
    for path in ("/api/status", "/api/status", "/login"):
        r = anon.get(path)
        assert not _session_cookie(r), (path, r.headers.get_all("Set-Cookie"))
    # The STOP's flash survives a poll that was answered after it.
    assert _session_cookie(anon.post("/stop"))
    anon.get("/api/status")
    assert "Stopped. Every output is off." in anon.get("/").get_data(as_text=True)
