"""The installer's boot, service and fail-safe work (issue 10): i2c-dev at boot, the
hardware watchdog in systemd and config.txt, what it reports rather than changes.

Expected contents come from the OS documentation, not from the installer:
modules-load.d(5): /etc/modules-load.d/<name>.conf, "a list of kernel module names to
  load, separated by newlines"; empty lines and lines starting with or ; are ignored.
systemd-system.conf(5): drop-ins /etc/systemd/system.conf.d/*.conf, section [Manager],
  RuntimeWatchdogSec= a time span (systemd.time(7)); the Broadcom watchdog's longest
  timeout is about 15 s. config.txt: dtparam=watchdog=on, dtparam=strict_gpiod.
"""

from __future__ import annotations

from station.install.installer import install, uninstall
from tests import installkit
from tests.installkit import (
    MODULES_D,
    PI_CONFIG_TXT,
    SYSTEM_CONF_D,
    make_host,
    make_pi,
    mode,
    modules_to_load,
    runtime_watchdog_usec,
    snapshot,
)

root, source = installkit.root, installkit.source  # the fixtures


def test_i2c_dev_is_loaded_at_boot(root, source):
    assert modules_to_load(root) == []
    install(make_host(root, source), assume_yes=True, ask=None)
    assert modules_to_load(root) == ["i2c-dev"]
    conf = next((root / MODULES_D).glob("*.conf"))
    assert mode(conf) == 0o644


def test_hardware_watchdog_is_on_in_systemd_and_config_txt(root, source):
    install(make_host(root, source), assume_yes=True, ask=None)
    usec = runtime_watchdog_usec(root)
    assert usec is not None and 0 < usec <= 15_000_000
    assert mode(next((root / SYSTEM_CONF_D).glob("*.conf"))) == 0o644
    active = [
        ln.strip()
        for ln in (root / "boot/firmware/config.txt").read_text().splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    assert active.count("dtparam=watchdog=on") == 1
    assert active.count("dtparam=strict_gpiod") == 1


def test_the_watchdog_check_sees_a_missing_setting(root):
    """The reader above must be able to say 'off': a drop-in without the key is None."""
    (root / SYSTEM_CONF_D).mkdir(parents=True)
    (root / SYSTEM_CONF_D / "other.conf").write_text("[Manager]\nLogLevel=info\n")
    assert runtime_watchdog_usec(root) is None
    (root / SYSTEM_CONF_D / "x.conf").write_text("[Manager]\nRuntimeWatchdogSec=1min\n")
    assert runtime_watchdog_usec(root) == 60_000_000


def test_watchdog_and_strict_gpiod_already_in_config_txt_are_not_added_twice(root, source):
    cfg = root / "boot/firmware/config.txt"
    cfg.write_text(PI_CONFIG_TXT + "dtparam=strict_gpiod\ndtparam=watchdog=on\n")
    install(make_host(root, source), assume_yes=True, ask=None)
    text = cfg.read_text()
    assert text.count("dtparam=strict_gpiod") == 1
    assert text.count("dtparam=watchdog=on") == 1
    assert "dtparam=i2c_arm=on" in text  # the rest was still added


def test_a_watchdog_the_maker_turned_off_is_reported_not_changed(root, source, capsys):
    cfg = root / "boot/firmware/config.txt"
    cfg.write_text(PI_CONFIG_TXT + "dtparam=watchdog=off\n")
    install(make_host(root, source), assume_yes=True, ask=None)
    assert "dtparam=watchdog=on" not in cfg.read_text()
    assert "dtparam=watchdog=off" in capsys.readouterr().out


def test_an_edited_module_list_or_watchdog_dropin_is_put_back_once(root, source, capsys):
    install(make_host(root, source), assume_yes=True, ask=None)
    modules = next((root / MODULES_D).glob("*.conf"))
    dropin = next((root / SYSTEM_CONF_D).glob("*.conf"))
    modules.write_text("# emptied by hand\n")
    dropin.write_text("[Manager]\nRuntimeWatchdogSec=off\n")
    install(make_host(root, source), assume_yes=True, ask=None)
    assert modules_to_load(root) == ["i2c-dev"]
    assert 0 < runtime_watchdog_usec(root) <= 15_000_000
    before = snapshot(root)
    capsys.readouterr()
    again = make_host(root, source)
    install(again, assume_yes=True, ask=None)
    assert snapshot(root) == before and again.runner.commands == []
    assert "nothing to change" in capsys.readouterr().out


def test_dry_run_shows_the_boot_and_watchdog_steps(root, source, capsys):
    make_pi(root)
    before = snapshot(root)
    install(make_host(root, source, dry_run=True, version=(3, 13)), assume_yes=True, ask=None)
    assert snapshot(root) == before
    out = capsys.readouterr().out
    assert "would: write /etc/modules-load.d/" in out
    assert "would: write /etc/systemd/system.conf.d/" in out
    assert "would run: env DEBIAN_FRONTEND=noninteractive apt-get install" in out
    assert "python3-lgpio" in out and "--system-site-packages" in out
    assert "dtparam=watchdog=on" in out  # the config.txt lines are listed with their reason


def test_uninstall_removes_the_module_list_and_the_watchdog_dropin(root, source, capsys):
    install(make_host(root, source), assume_yes=True, ask=None)
    assert uninstall(make_host(root, source), purge=False) == 0
    assert modules_to_load(root) == []
    assert runtime_watchdog_usec(root) is None
    capsys.readouterr()
    again = make_host(root, source)
    assert uninstall(again, purge=False) == 0
    assert again.runner.commands == []
    assert "nothing to change" in capsys.readouterr().out
