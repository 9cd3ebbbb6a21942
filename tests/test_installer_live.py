"""The installer's live path (what only a real install runs: modprobe, daemon-reload,
the lgpio import check, stopping units where systemd runs), on a temporary root."""

from __future__ import annotations

import pytest

from station.install.installer import UNITS, VENV, install, uninstall
from tests import installkit
from tests.installkit import (
    live_host,
    make_pi,
    modules_to_load,
)

root, source = installkit.root, installkit.source  # the fixtures


def test_live_install_loads_i2c_dev_now_and_reloads_systemd_for_the_watchdog(root, source):
    host = live_host(root, source)
    install(host, assume_yes=True, ask=None)
    cmds = host.runner.commands
    assert ["modprobe", "i2c-dev"] in cmds
    reloads = [i for i, c in enumerate(cmds) if c == ["systemctl", "daemon-reload"]]
    written = cmds.index(["modprobe", "i2c-dev"])
    assert any(i > written for i in reloads)  # after the drop-in, not only for the units


def test_live_install_goes_on_when_modprobe_fails(root, source, capsys):
    host = live_host(root, source, fail_modprobe=True)
    install(host, assume_yes=True, ask=None)
    assert modules_to_load(root) == ["i2c-dev"]
    assert "the next boot loads i2c-dev" in capsys.readouterr().out


def test_trixie_live_install_checks_that_the_venv_imports_lgpio(root, source):
    make_pi(root)
    host = live_host(root, source)
    install(host, assume_yes=True, ask=None)
    (check,) = [c for c in host.runner.commands if c[-2:] == ["-c", "import lgpio"]]
    assert check[2] == str(root / VENV.lstrip("/") / "bin/python")


def test_trixie_venv_that_cannot_import_lgpio_says_what_to_do(root, source):
    from station.install.host import InstallError

    make_pi(root)
    with pytest.raises(InstallError) as err:
        install(live_host(root, source, fail_lgpio=True), assume_yes=True, ask=None)
    msg = str(err.value)
    assert "/opt/station/venv" in msg and "--python /usr/bin/python3" in msg
    assert "python3-lgpio" in msg
    # no stamp: the next run tries again instead of calling the venv done
    assert not (root / VENV.lstrip("/") / ".station-source").exists()


@pytest.mark.parametrize("booted", [True, False])
def test_live_uninstall_stops_the_units_first_only_where_systemd_runs(root, source, booted):
    """sd_booted(3): systemd is running when /run/systemd/system exists. Offline (a chroot,
    an image being prepared) `systemctl stop`/`disable --now` would refuse."""
    install(live_host(root, source), assume_yes=True, ask=None)
    if booted:
        (root / "run/systemd/system").mkdir(parents=True)
    host = live_host(root, source)
    assert uninstall(host, purge=False) == 0
    systemctl = [c for c in host.runner.commands if c[0] == "systemctl"]
    disable = ["systemctl", "disable", *UNITS]
    assert disable in systemctl
    if booted:
        assert systemctl.index(["systemctl", "stop", *UNITS]) < systemctl.index(disable)
    else:
        assert not any(c[1] == "stop" or "--now" in c for c in systemctl)
    assert not (root / "etc/systemd/system" / UNITS[0]).exists()
