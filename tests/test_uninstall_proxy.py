"""Uninstall removes what the proxy install added (issue 13): /etc/station/haproxy.cfg,
the haproxy.service drop-in, the station's own CA and certificate, and the stop unit;
HAProxy's own config (a Debian conffile) is never touched. A certificate the clinic
brought (``KEEP``) stays unless purge. Against a temporary root (tests/installkit.py)."""

from __future__ import annotations

from station.install.installer import install, uninstall
from station.install.proxy import HAPROXY_CFG, HAPROXY_DROPIN
from station.install.tls import TLS_DIR
from tests import installkit
from tests.installkit import make_host

root, source = installkit.root, installkit.source  # the fixtures

ADDED = (
    HAPROXY_CFG,
    HAPROXY_DROPIN,
    TLS_DIR,
    "/etc/systemd/system/station-stop.service",
    "/etc/systemd/system/multi-user.target.wants/station-stop.service",
)


def at(root, absolute: str):
    return root / absolute.lstrip("/")


def test_uninstall_removes_the_front_door_and_keeps_haproxys_own(root, source, capsys):
    packaged = at(root, "/etc/haproxy/haproxy.cfg")
    packaged.parent.mkdir(parents=True, exist_ok=True)
    packaged.write_text("# Debian's own\n")
    assert install(make_host(root, source), assume_yes=True, ask=None) == 0
    for path in ADDED:  # the install made each (else this test proves nothing)
        assert at(root, path).exists() or at(root, path).is_symlink(), path
    assert (at(root, TLS_DIR) / "server.pem").is_file()
    capsys.readouterr()
    assert uninstall(make_host(root, source), purge=False) == 0
    out = capsys.readouterr().out
    for path in ADDED:
        assert not at(root, path).exists() and not at(root, path).is_symlink(), path
    assert f"remove {HAPROXY_CFG}" in out and f"remove {TLS_DIR}" in out
    assert packaged.read_text() == "# Debian's own\n"
    assert at(root, "/etc/station/station.toml").is_file()  # config stays without purge
    again = make_host(root, source)
    assert uninstall(again, purge=False) == 0
    assert "nothing to change" in capsys.readouterr().out


def test_a_brought_certificate_stays_unless_purge(root, source, capsys):
    assert install(make_host(root, source), assume_yes=True, ask=None) == 0
    tls = at(root, TLS_DIR)
    (tls / "KEEP").write_text("")
    mine = (tls / "server.pem").read_text()
    assert uninstall(make_host(root, source), purge=False) == 0
    assert (tls / "server.pem").read_text() == mine
    assert not at(root, HAPROXY_CFG).exists()
    assert uninstall(make_host(root, source), purge=True) == 0
    assert not tls.exists()
