"""Shared pieces of the patient-journey browser tests (tests/web/test_browser_*.py).

The whole station runs as ``station run`` starts it: the engine (simulator) and the app
as their own processes on a temporary data dir and a free port (as in test_web_e2e.py),
but the app's process is handed to the test so it can be killed (lost connection).
Debian's Chromium (never a downloaded browser) runs at both sizes the issue names: a
phone (390x844, touch) and a desktop (1280x800).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from station.storage import Store
from tests import procs as spawned
from web.security import hash_password

CHROMIUM = "/usr/bin/chromium"  # Debian's (./test installs it); never a downloaded one
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
PATIENT, PATIENT_PASSWORD = "pat", "patient-pass-1"


@dataclass
class Station:
    base: str
    data: Path
    app: subprocess.Popen[bytes]
    engine: subprocess.Popen[bytes]


@pytest.fixture
def station(tmp_path) -> Iterator[Station]:
    with run_station(tmp_path) as st:
        yield st


def add_accounts(data: Path) -> None:
    """The clinician (carla) and the patient (pat) the journeys log in as."""
    with Store.open(data, create=False) as store:
        store.users.create("carla", "clinician", hash_password("clinician-pass-1"))
        store.users.create(PATIENT, "patient", hash_password(PATIENT_PASSWORD))


@contextlib.contextmanager
def run_station(tmp_path: Path, *, accounts: bool = True) -> Iterator[Station]:
    """The station's processes; ``accounts=False`` leaves it as a first run finds it
    (no clinician yet: /setup shows its form)."""
    data = tmp_path / "data"
    data.mkdir()
    port = spawned.free_port()
    cmd = [sys.executable, "-m", "station.cli"]
    env = {**os.environ, "STATION_SIMULATED": "1"}
    engine = spawned.spawn([*cmd, "engine", "--sim", "--data-dir", str(data)], env=env)
    procs = [engine]
    try:
        wait_until(lambda: (data / "engine.sock").exists(), 20, "engine socket")
        app = spawned.spawn(
            [*cmd, "app", "--sim", "--port", str(port), "--data-dir", str(data)], env=env
        )
        procs.insert(0, app)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(base + "/api/status"), 30, "web app")
        if accounts:
            add_accounts(data)
        yield Station(base=base, data=data, app=app, engine=engine)
    finally:
        for p in procs:
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)
            spawned.kill(p)


def wait_until(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not ready in {timeout} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def open_browser(
    *, width: int, height: int, touch: bool, locale: str | None = None
) -> Iterator[Any]:
    """A page in Debian's headless Chromium at ``width`` x ``height`` CSS pixels."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing; ./test installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        extra = {"locale": locale} if locale else {}
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            has_touch=touch,
            **extra,
        )
        pg = context.new_page()
        pg.set_default_timeout(15000)
        try:
            yield pg
        finally:
            context.close()
            browser.close()


@pytest.fixture(params=sorted(SIZES), ids=sorted(SIZES))
def size(request) -> str:
    return str(request.param)


@pytest.fixture
def page(size) -> Iterator[object]:
    width, height = SIZES[size]
    with open_browser(width=width, height=height, touch=size == "phone") as pg:
        pg.size_name = size
        yield pg


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{page.size_name}-{name}.png"))


def login(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#name", PATIENT)
    page.fill("#password", PATIENT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def csrf(page) -> str:
    return page.get_attribute('meta[name="csrf-token"]', "content") or ""


def api_post(page, base: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return page.request.post(base + path, headers={"X-CSRFToken": csrf(page)}, data=body or {})


def outside_first_screen(page, selectors: list[str]) -> list[str]:
    """Of the selectors, those not wholly on the first screen: inside the viewport and
    above the fixed STOP bar (which covers the bottom of every page), with the page
    scrolled to the top, plus visible controls smaller than a 48 px touch target."""
    return page.evaluate(
        """(sels) => {
          window.scrollTo(0, 0);
          const bar = document.getElementById('stop-form').getBoundingClientRect().top;
          const bad = [];
          for (const s of sels) {
            const els = Array.from(document.querySelectorAll(s));
            if (!els.length) { bad.push(s + ': missing'); continue; }
            for (const e of els) {
              const r = e.getBoundingClientRect();
              if (!r.width || !r.height) { bad.push(s + ': not shown'); continue; }
              if (r.top < 0 || r.left < 0 || r.bottom > bar || r.right > window.innerWidth)
                bad.push(s + ': at ' + JSON.stringify([r.left, r.top, r.right, r.bottom]) +
                         ', first screen ends at ' + bar);
              if (e.tagName === 'BUTTON' && (r.width < 48 || r.height < 48))
                bad.push(s + ': ' + r.width + 'x' + r.height + ' px');
            }
          }
          return bad;
        }""",
        selectors,
    )
