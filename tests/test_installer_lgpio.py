"""Where lgpio comes from on a Pi: PyPI's wheel on Bookworm (Python 3.11), Raspberry Pi
OS's python3-lgpio on Trixie (3.13+), given back on uninstall; and the Python version the
installer reads."""

from __future__ import annotations

import sys

import pytest

from station.install.host import Host, RecordingRunner
from station.install.installer import VENV, install, uninstall
from tests import installkit
from tests.installkit import (
    REPO,
    FakeSystemRunner,
    apt_commands,
    lgpio_apt,
    make_host,
    make_pi,
    snapshot,
)

root, source = installkit.root, installkit.source  # the fixtures


def test_bookworm_pi_gets_lgpio_from_pip_and_no_debian_package(root, source):
    make_pi(root)
    host = make_host(root, source, version=(3, 11))
    install(host, assume_yes=True, ask=None)
    assert lgpio_apt(host) == []
    venv_cmd = next(c for c in host.runner.commands if c[1:3] == ["-m", "venv"])
    assert "--system-site-packages" not in venv_cmd


def test_trixie_pi_uses_debians_python3_lgpio_and_gives_it_back(root, source, capsys):
    make_pi(root)
    host = make_host(root, source, version=(3, 13))
    assert install(host, assume_yes=True, ask=None) == 0
    cmds = host.runner.commands
    install_cmd = next(c for c in cmds if "install" in c and "apt-get" in c)
    assert "python3-lgpio" in install_cmd and "-y" in install_cmd
    venv_cmd = next(c for c in cmds if c[1:3] == ["-m", "venv"])
    assert "--system-site-packages" in venv_cmd
    assert cmds.index(install_cmd) < cmds.index(venv_cmd)  # the package before the venv
    pip = next(c for c in cmds if c[1:4] == ["-m", "pip", "install"])
    assert pip[-1] == f"{source}[pi]"
    cfg = (root / VENV.lstrip("/") / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg
    # idempotent
    before = snapshot(root)
    again = make_host(root, source, version=(3, 13))
    install(again, assume_yes=True, ask=None)
    assert again.runner.commands == [] and snapshot(root) == before
    # uninstall: marked auto-removable (never apt-get remove: that takes dependants along)
    gone = make_host(root, source, version=(3, 13))
    uninstall(gone, purge=False)
    # what the installer put in (lgpio; the front door's haproxy and openssl; Pango for the
    # PDF report) goes back, marked auto-removable
    assert apt_commands(gone) == [
        ["apt-mark", "auto", "haproxy", "libpango-1.0-0", "libpangoft2-1.0-0", "openssl",
         "python3-lgpio"]
    ]  # fmt: skip
    last = make_host(root, source, version=(3, 13))
    uninstall(last, purge=False)
    assert last.runner.commands == []


def test_trixie_with_python3_lgpio_already_there_installs_nothing_and_keeps_it(root, source):
    make_pi(root)
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: python3-gpiozero\nStatus: install ok installed\n\n"
        "Package: python3-lgpio\nStatus: install ok installed\nVersion: 0.2.2-1\n"
    )
    host = make_host(root, source, version=(3, 13))
    install(host, assume_yes=True, ask=None)
    assert lgpio_apt(host) == []
    gone = make_host(root, source, version=(3, 13))
    uninstall(gone, purge=True)
    assert lgpio_apt(gone) == []  # not ours to give back


def test_a_removed_but_not_purged_package_counts_as_missing(root, source):
    """dpkg keeps a stanza for a removed package ("deinstall ok config-files")."""
    make_pi(root)
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text("Package: python3-lgpio\nStatus: deinstall ok config-files\n")
    host = make_host(root, source, version=(3, 13))
    install(host, assume_yes=True, ask=None)
    assert any("python3-lgpio" in c for c in apt_commands(host))


def test_an_old_venv_gains_system_site_packages_after_an_upgrade_to_trixie(root, source):
    make_pi(root)
    install(make_host(root, source, version=(3, 11)), assume_yes=True, ask=None)
    host = make_host(root, source, version=(3, 13))
    install(host, assume_yes=True, ask=None)
    venv_cmd = next(c for c in host.runner.commands if c[1:3] == ["-m", "venv"])
    assert "--system-site-packages" in venv_cmd
    assert any(c[1:4] == ["-m", "pip", "install"] for c in host.runner.commands)


def test_an_unreadable_python_version_is_a_clear_error(root, source):
    from station.install.host import InstallError

    make_pi(root)
    host = Host(
        root=root, source=source, runner=FakeSystemRunner(root), python="/nonexistent/python3"
    )
    with pytest.raises(InstallError) as err:
        install(host, assume_yes=True, ask=None)
    msg = str(err.value)
    assert "--python /nonexistent/python3" in msg and "/usr/bin/python3" in msg


def test_the_python_version_is_read_from_the_given_python(root, source):
    host = Host(root=root, source=source, runner=RecordingRunner(), python=sys.executable)
    assert host.python_minor() == sys.version_info[:2]


def test_the_pi_extra_has_no_rpi_gpio_and_no_lgpio_build_on_python_313():
    import tomllib

    from packaging.requirements import Requirement

    extra = [
        Requirement(r)
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]["pi"]
    ]
    names = {r.name.lower() for r in extra}
    assert "rpi.gpio" not in names and "rpi-gpio" not in names
    (lgpio,) = [r for r in extra if r.name == "lgpio"]
    assert not lgpio.specifier.contains("0.0.0.1")  # the empty placeholder on the index
    pi = {"platform_machine": "aarch64", "sys_platform": "linux"}
    assert lgpio.marker.evaluate({**pi, "python_version": "3.11"})
    assert lgpio.marker.evaluate({**pi, "python_version": "3.12"})
    assert not lgpio.marker.evaluate({**pi, "python_version": "3.13"})
