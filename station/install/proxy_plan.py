"""The installer's part for HAProxy and TLS (issue 13): Debian's haproxy and openssl, the
station's CA and server certificate in /etc/station/tls, /etc/station/haproxy.cfg from
``station.install.proxy``, and a drop-in that points Debian's haproxy.service at it.

Why apart from ``station.install.plan``: one concept (the front door), its own files.
Bring your own certificate: see ``station.install.tls``.
"""

from __future__ import annotations

import socket

from station.install.action import APT_RECORD, Action
from station.install.host import Host, dpkg_installed
from station.install.proxy import HAPROXY_CFG, HAPROXY_DROPIN, ProxySettings, dropin_text, render
from station.install.tls import TLS_DIR, fingerprint, make_ca, make_server, names_in

# The front door (haproxy, openssl for the certificate), and Pango for the clinician's PDF
# report (WeasyPrint lays it out with Pango: web/clinic_report.py).
PACKAGES = ("haproxy", "openssl", "libpango-1.0-0", "libpangoft2-1.0-0")


def _apt() -> Action:
    def missing(h: Host) -> list[str]:
        return [p for p in PACKAGES if not dpkg_installed(h, p)]

    def apply(h: Host) -> None:
        todo = missing(h)
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        h.runner.run([*env, "apt-get", "update", "-q"])
        h.runner.run([*env, "apt-get", "install", "-y", "-q", "--no-install-recommends", *todo])
        record = h.path(APT_RECORD)
        had = record.read_text(encoding="utf-8").split() if record.is_file() else []
        h.write(APT_RECORD, "".join(f"{p}\n" for p in sorted({*had, *todo})), 0o644)

    return Action(
        summary=f"apt packages {', '.join(PACKAGES)} (the page's front door, the PDF report)",
        needed=lambda h: bool(missing(h)),
        apply=apply,
    )


def station_names(h: Host) -> tuple[list[str], list[str]]:
    """DNS names and addresses the certificate covers: the Pi's hostname (and .local, as
    avahi announces it), localhost, loopback and, on a live install, the current address."""
    hostname_file = h.path("/etc/hostname")
    name = hostname_file.read_text().strip() if hostname_file.is_file() else "raspberrypi"
    ips = ["127.0.0.1"]
    if h.live:
        try:  # the address of the default route (a UDP connect sends nothing)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("192.0.2.1", 9))
                ips.append(s.getsockname()[0])
        except OSError:
            pass
    return [name, f"{name}.local", "localhost"], sorted(set(ips))


def _tls() -> list[Action]:
    d = TLS_DIR

    def want(h: Host) -> set[str]:
        dns, ips = station_names(h)
        return {*(f"DNS:{n}" for n in dns), *(f"IP Address:{i}" for i in ips)}

    def server_needed(h: Host) -> bool:
        pem = h.path(f"{d}/server.pem")
        if h.path(f"{d}/KEEP").exists():
            return not pem.is_file()
        return not pem.is_file() or not want(h) <= names_in(pem)

    def ca(h: Host) -> None:
        h.mkdir(d, 0o700)
        if not h.dry_run:
            make_ca(h.path(d), name=station_names(h)[0][0])
            h.note(
                f"the CA's SHA-256 fingerprint (compare on the phone): "
                f"{fingerprint(h.path(f'{d}/ca.crt'))}"
            )

    def server(h: Host) -> None:
        if h.path(f"{d}/KEEP").exists():
            raise_keep = f"{d}/KEEP is there but {d}/server.pem is missing: put yours there"
            from station.install.host import InstallError

            raise InstallError(raise_keep)
        if not h.dry_run:
            dns, ips = station_names(h)
            make_server(h.path(d), dns=dns, ips=ips)

    return [
        Action(
            summary=f"{d}/ca.crt: the station's own CA (phones trust it from /ca.crt)",
            needed=lambda h: (
                not h.path(f"{d}/ca.crt").is_file() and not h.path(f"{d}/KEEP").exists()
            ),
            apply=ca,
        ),
        Action(
            summary=f"{d}/server.pem: the page's certificate (hostname, .local, address)",
            needed=server_needed,
            apply=server,
        ),
    ]


def _config(h: Host) -> str:
    ca = f"{TLS_DIR}/ca.crt"
    return render(
        ProxySettings(
            server_pem=f"{TLS_DIR}/server.pem", ca_file=ca if h.path(ca).is_file() else None
        )
    )


def _haproxy() -> list[Action]:
    def stale(h: Host, path: str, text: str) -> bool:
        p = h.path(path)
        return not (p.is_file() and p.read_text(encoding="utf-8") == text)

    def write_config(h: Host) -> None:
        h.write(HAPROXY_CFG, _config(h), 0o644)
        h.write(HAPROXY_DROPIN, dropin_text(), 0o644)
        if h.live and not h.dry_run:
            h.runner.run(["haproxy", "-c", "-q", "-f", HAPROXY_CFG])
            h.runner.run(["systemctl", "daemon-reload"])
            h.runner.run(["systemctl", "enable", "haproxy.service"])
            h.runner.run(["systemctl", "restart", "haproxy.service"])

    return [
        Action(
            summary=f"{HAPROXY_CFG} (HTTPS on 443, stops to the stop listener) and "
            f"{HAPROXY_DROPIN}",
            needed=lambda h: (
                stale(h, HAPROXY_CFG, _config(h)) or stale(h, HAPROXY_DROPIN, dropin_text())
            ),
            apply=write_config,
        ),
    ]


def proxy_actions() -> list[Action]:
    return [_apt(), *_tls(), *_haproxy()]
