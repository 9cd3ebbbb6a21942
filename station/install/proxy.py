"""HAProxy in front of the page on a Pi: the configuration, from one template.

Why HAProxy (Debian's package, as OctoPi puts it in front of OctoPrint): it holds idle and
slow connections cheaply and closes them on its own timeouts, limits connections and
requests per address, terminates TLS, and routes each path to its own backend, so the
page's stop (``station.stopd``) never shares a bounded pool with anything a client can
hold open. The template (``haproxy.cfg.tmpl`` beside this module) says what each line is
for; this module only fills in addresses, paths and limits. The installer writes the
result to ``/etc/station/haproxy.cfg``; tests and the stop-flood benchmark run HAProxy
on it with free ports.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from station.errors import StationError

TEMPLATE = Path(__file__).with_name("haproxy.cfg.tmpl")
HAPROXY_CFG = "/etc/station/haproxy.cfg"
# Debian's haproxy.service reads $CONFIG; this drop-in points it at the station's file and
# leaves the package's own /etc/haproxy/haproxy.cfg (a conffile) untouched.
HAPROXY_DROPIN = "/etc/systemd/system/haproxy.service.d/station.conf"
PI_GLOBAL = (
    "    log /dev/log local0 notice",
    "    chroot /var/lib/haproxy",
    "    user haproxy",
    "    group haproxy",
)


@dataclass(kw_only=True, frozen=True)
class ProxySettings:
    server_pem: str  # certificate chain + key, one PEM file (what ``bind ... crt`` reads)
    ca_file: str | None = None  # served at /ca.crt when set
    app_address: str = "127.0.0.1:8080"
    stop_address: str = "127.0.0.1:8081"
    bind: str = ""  # all addresses
    https_port: int = 443
    http_port: int = 80
    maxconn: int = 2000
    conns_per_address: int = 40
    requests_per_10s: int = 200  # a page load is ~10 requests; polling adds a few a second
    events_max: int = 8  # of waitress's 16 threads (station.commands.app.THREADS)
    events_per_address: int = 2
    app_maxconn: int = 8  # events_max + app_maxconn <= 16: never more than waitress has
    system: bool = True  # the Pi's global lines (syslog, chroot, user); False in tests


def render(settings: ProxySettings) -> str:
    s = settings
    ca = (
        f"    http-request return status 200 content-type application/x-x509-ca-cert "
        f"file {s.ca_file} if ca_cert"
        if s.ca_file
        else "    # no CA file: /ca.crt goes to the app"
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        global_lines="\n".join(PI_GLOBAL) if s.system else "    # (test run: no syslog)",
        log_lines="    log global\n    option httplog" if s.system else "    # no log",
        ca_lines=ca,
        **{
            k: getattr(s, k)
            for k in (
                "server_pem",
                "app_address",
                "stop_address",
                "bind",
                "https_port",
                "http_port",
                "maxconn",
                "conns_per_address",
                "requests_per_10s",
                "events_max",
                "events_per_address",
                "app_maxconn",
            )
        },
    )


def dropin_text(config: str = HAPROXY_CFG) -> str:
    return (
        "# Written by the station installer: HAProxy serves the station's config.\n"
        f'[Service]\nEnvironment="CONFIG={config}"\n'
    )


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy",) if Path(p).is_file()), None
    )


def check(text: str) -> None:
    """``haproxy -c``: raises ``StationError`` with HAProxy's own words when it refuses."""
    binary = haproxy_binary()
    if binary is None:
        raise StationError("haproxy is not installed (sudo apt-get install haproxy)")
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(text)
    try:
        done = subprocess.run(
            [binary, "-c", "-q", "-f", f.name], capture_output=True, text=True, timeout=30
        )
    finally:
        Path(f.name).unlink()
    if done.returncode != 0:
        raise StationError(f"haproxy refuses the configuration: {done.stderr.strip()}")
