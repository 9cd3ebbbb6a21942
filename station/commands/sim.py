"""``station sim clock``: read or move the running station's simulated clock.

Why over HTTP: the simulated clock belongs to the app process (its Store, planner and
reminders read it), so the command talks to the running app's JSON API, as the page does
(``GET`` / ``POST /api/sim/clock``). Like a press of a simulated button it needs no login;
the POST carries the CSRF token a page of the app hands out, as a browser's would.
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from typing import Any

from station.errors import StationError

DEFAULT_URL = "http://127.0.0.1:8080"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_TOKEN = re.compile(r'name="csrf[-_]token"\s+(?:content|value)="([^"]+)"')


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="the simulator's controls on a running station")
    ssub = p.add_subparsers(dest="sim_command", metavar="ACTION")
    c = ssub.add_parser(
        "clock", help="show the simulated clock, jump it forward (--advance) or speed it up"
    )
    c.add_argument(
        "--advance",
        type=duration,
        default=None,
        metavar="DURATION",
        help="jump forward: seconds, or with a unit (90m, 8h, 3d, 2w)",
    )
    c.add_argument(
        "--rate",
        type=float,
        default=None,
        help="simulated seconds per real second (1: real time; the engine plays as fast)",
    )
    c.add_argument("--url", default=DEFAULT_URL, help=f"the running app (default {DEFAULT_URL})")
    c.set_defaults(func=clock)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; give seconds or a number with s, m, h, d or w"
        )
    return float(match[1]) * _UNITS[match[2] or "s"]


def clock(args: argparse.Namespace) -> int:
    api = SimApi(args.url)
    if args.advance is None and args.rate is None:
        state = api.get("/api/sim/clock")
    else:
        body: dict[str, Any] = {"advance_s": args.advance or 0}
        if args.rate is not None:
            body["rate"] = args.rate
        state = api.post("/api/sim/clock", body)
    print(
        f"simulated now {state['now']} (rate {state['rate']:g}x, moved on "
        f"{state['advanced_s']:g} s in all; real now {state['real_now']})"
    )
    return 0


class SimApi:
    """A tiny JSON client of the running app that keeps its cookie (and CSRF token)."""

    def __init__(self, url: str, *, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self._token: str | None = None

    def get(self, path: str) -> Any:
        return self._send(urllib.request.Request(self.url + path))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json", "X-CSRFToken": self._csrf()}
        data = json.dumps(body).encode()
        return self._send(urllib.request.Request(self.url + path, data, headers, method="POST"))

    def _csrf(self) -> str:
        if self._token is None:
            with self._open(urllib.request.Request(self.url + "/login")) as resp:
                page = resp.read().decode("utf-8", "replace")
            match = _TOKEN.search(page)
            if not match:
                raise StationError(f"{self.url}: the page carries no CSRF token; is it a station?")
            self._token = match[1]
        return self._token

    def _send(self, req: urllib.request.Request) -> Any:
        with self._open(req) as resp:
            return json.loads(resp.read())

    def _open(self, req: urllib.request.Request) -> Any:
        try:
            return self._opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise StationError(f"{req.full_url}: {exc.code} {message}") from None
        except OSError as exc:
            raise StationError(
                f"{self.url}: the station's app does not answer ({exc}); is `station run` "
                "running, and is --url right?"
            ) from None
