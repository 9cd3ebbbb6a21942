"""The appliance installer against a temporary root: a fresh install, a second run, the
config, consent for config.txt, dry runs, uninstall and purge, permissions, and the pinned
venv (tests/installkit.py explains the fake system runner)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.errors import ConfigError, StationError
from station.install.boot_config import BLOCK_START, boot_lines
from station.install.installer import (
    CONFIG,
    DATA_DIR,
    SECRET_KEY,
    UNITS,
    VENV,
    install,
    uninstall,
    wiring_boot_lines,
)
from tests import installkit
from tests.installkit import (
    PI_CONFIG_TXT,
    REPO,
    STATION_GID,
    STATION_UID,
    make_host,
    mode,
    snapshot,
)

root, source = installkit.root, installkit.source  # the fixtures


def test_fresh_install_creates_everything(root, source, capsys):
    host = make_host(root, source)
    assert install(host, assume_yes=True, ask=None) == 0
    out = capsys.readouterr().out
    # user and groups
    assert f"station:x:{STATION_UID}:{STATION_GID}" in (root / "etc/passwd").read_text()
    group = (root / "etc/group").read_text()
    assert "gpio:x:997:pi,station" in group and "i2c:x:998:pi,station" in group
    # config: the reference wiring, readable by the service
    assert (root / CONFIG.lstrip("/")).read_text() == (
        source / "station/default_wiring.toml"
    ).read_text()
    assert mode(root / CONFIG.lstrip("/")) == 0o644
    # data directory and secret key: private to the station user
    data = root / DATA_DIR.lstrip("/")
    assert mode(data) == 0o750
    assert (data.stat().st_uid, data.stat().st_gid) == (STATION_UID, STATION_GID)
    key = root / SECRET_KEY.lstrip("/")
    assert mode(key) == 0o600 and key.stat().st_uid == STATION_UID
    assert len(key.read_text().strip()) == 64
    # venv made with the given python, station installed from the source, no pi extra here
    cmds = host.runner.commands
    assert ["py3", "-m", "venv", str(root / VENV.lstrip("/"))] in cmds
    pip = next(c for c in cmds if c[1:4] == ["-m", "pip", "install"])
    assert pip[-1] == str(source)
    # units: copied verbatim and enabled against the root, never against this machine
    for unit in UNITS:
        installed = root / "etc/systemd/system" / unit
        assert installed.read_text() == (source / "systemd" / unit).read_text()
        assert (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
    assert ["systemctl", f"--root={root}", "enable", *UNITS] in cmds
    assert not any(c[:2] == ["systemctl", "daemon-reload"] for c in cmds)
    # config.txt: the original kept, each line once, in an [all] block after [cm4]
    text = (root / "boot/firmware/config.txt").read_text()
    assert text.startswith(PI_CONFIG_TXT.rstrip("\n"))
    block = text[text.index(BLOCK_START) :].splitlines()
    assert block[1] == "[all]"
    for line in boot_lines():
        assert text.splitlines().count(line.line) == 1
        assert line.line in block
    assert (root / "boot/firmware/config.txt.station-backup").read_text() == PI_CONFIG_TXT
    assert "reboot" in out and "https://" in out and "/ca.crt" in out


def test_second_run_changes_nothing_and_says_so(root, source, capsys):
    install(make_host(root, source), assume_yes=True, ask=None)
    before = snapshot(root)
    capsys.readouterr()
    again = make_host(root, source)
    assert install(again, assume_yes=True, ask=None) == 0
    assert again.runner.commands == []
    assert snapshot(root) == before
    assert "nothing to change" in capsys.readouterr().out


def test_an_edited_config_is_never_overwritten(root, source):
    install(make_host(root, source), assume_yes=True, ask=None)
    cfg = root / CONFIG.lstrip("/")
    edited = cfg.read_text().replace('name = "forearm"', 'name = "left_forearm"')
    cfg.write_text(edited)
    install(make_host(root, source), assume_yes=True, ask=None)
    assert cfg.read_text() == edited


def test_a_broken_config_stops_before_anything_changes(root, source):
    cfg = root / CONFIG.lstrip("/")
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[panel]\nstart_pin = 99\n")
    before = snapshot(root)
    with pytest.raises(ConfigError) as err:
        install(make_host(root, source), assume_yes=True, ask=None)
    assert "start_pin" in str(err.value)
    assert snapshot(root) == before


def test_without_a_terminal_and_without_yes_config_txt_is_left_alone(root, source, capsys):
    host = make_host(root, source)
    assert install(host, assume_yes=False, ask=None) == 3
    out = capsys.readouterr().out
    assert (root / "boot/firmware/config.txt").read_text() == PI_CONFIG_TXT
    assert "--yes" in out and "dtparam=strict_gpiod" in out
    # the rest of the install went ahead
    assert (root / SECRET_KEY.lstrip("/")).is_file()


def test_asks_before_editing_config_txt(root, source):
    prompts: list[str] = []
    install(make_host(root, source), assume_yes=False, ask=lambda p: prompts.append(p) or False)
    assert len(prompts) == 1
    assert (root / "boot/firmware/config.txt").read_text() == PI_CONFIG_TXT
    install(make_host(root, source), assume_yes=False, ask=lambda p: True)
    assert "dtparam=strict_gpiod" in (root / "boot/firmware/config.txt").read_text()


def test_cli_without_a_tty_refuses_and_does_not_hang(root, source):
    """The real entry point, stdin not a terminal: exit 3, config.txt untouched."""
    result = subprocess.run(
        [sys.executable, "-m", "station.commands.install", "--root", str(root),
         "--source", str(source), "--python", "py3"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert "re-run with --yes" in result.stdout
    assert (root / "boot/firmware/config.txt").read_text() == PI_CONFIG_TXT
    # only recorded: no user was created in the root, nothing ran on this machine
    assert "would run: useradd --root" in result.stdout
    assert "station:" not in (root / "etc/passwd").read_text()


def test_a_line_the_maker_set_differently_is_reported_not_changed(root, source, capsys):
    cfg = root / "boot/firmware/config.txt"
    cfg.write_text(PI_CONFIG_TXT + "dtparam=i2c_arm_baudrate=100000\ndtparam=i2c_arm=on\n")
    install(make_host(root, source), assume_yes=True, ask=None)
    text = cfg.read_text()
    assert "dtparam=i2c_arm_baudrate=400000" not in text
    assert text.count("dtparam=i2c_arm=on") == 1
    assert "dtparam=strict_gpiod" in text
    assert "dtparam=i2c_arm_baudrate=100000" in capsys.readouterr().out


def test_older_boot_path_and_no_boot_config(root, source, capsys):
    (root / "boot/firmware/config.txt").unlink()
    (root / "boot/config.txt").write_text("dtparam=audio=on\n")
    install(make_host(root, source), assume_yes=True, ask=None)
    assert "dtparam=strict_gpiod" in (root / "boot/config.txt").read_text()
    (root / "boot/config.txt").unlink()
    capsys.readouterr()
    assert install(make_host(root, source), assume_yes=True, ask=None) == 0
    assert "boot settings are left to you" in capsys.readouterr().out


def test_pwm_overlay_follows_the_brush_pin(root, source):
    assert "pin=18,func=2,pin2=19,func2=2" in boot_lines([18])[2].line
    assert "pin=12,func=4,pin2=19,func2=2" in boot_lines([12])[2].line
    cfg = root / CONFIG.lstrip("/")
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        (source / "station/default_wiring.toml").read_text().replace("pwm_pin = 18", "pwm_pin = 12")
    )
    host = make_host(root, source)
    assert "dtoverlay=pwm-2chan,pin=12,func=4" in wiring_boot_lines(host)[2].line


def test_on_a_pi_the_pi_extra_is_installed(root, source):
    model = root / "proc/device-tree/model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    host = make_host(root, source)
    install(host, assume_yes=True, ask=None)
    pip = next(c for c in host.runner.commands if c[1:4] == ["-m", "pip", "install"])
    assert pip[-1] == f"{source}[pi]"


def test_a_changed_checkout_is_reinstalled(root, source):
    install(make_host(root, source), assume_yes=True, ask=None)
    (source / "station" / "__init__.py").write_text('__version__ = "0.1.1"\n')
    host = make_host(root, source)
    install(host, assume_yes=True, ask=None)
    assert [c[1:4] for c in host.runner.commands] == [["-m", "pip", "install"]]


def test_dry_run_changes_nothing(root, source, capsys):
    before = snapshot(root)
    host = make_host(root, source, dry_run=True)
    assert install(host, assume_yes=True, ask=None) == 0
    assert snapshot(root) == before
    out = capsys.readouterr().out
    assert "would: write /etc/station/station.toml" in out


def test_uninstall_keeps_data_then_purge_removes_it(root, source, capsys):
    install(make_host(root, source), assume_yes=True, ask=None)
    key = (root / SECRET_KEY.lstrip("/")).read_text()
    host = make_host(root, source)
    assert uninstall(host, purge=False) == 0
    assert ["systemctl", f"--root={root}", "disable", *UNITS] in host.runner.commands
    for unit in UNITS:
        assert not (root / "etc/systemd/system" / unit).exists()
        assert not (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
    assert not (root / VENV.lstrip("/")).exists()
    assert (root / SECRET_KEY.lstrip("/")).read_text() == key
    assert (root / CONFIG.lstrip("/")).is_file()
    # reinstalling keeps the same secret key (sessions survive a reinstall)
    install(make_host(root, source), assume_yes=True, ask=None)
    assert (root / SECRET_KEY.lstrip("/")).read_text() == key
    capsys.readouterr()
    assert uninstall(make_host(root, source), purge=True) == 0
    assert not (root / DATA_DIR.lstrip("/")).exists()
    assert not (root / "etc/station").exists()
    assert "station:" not in (root / "etc/passwd").read_text()
    again = make_host(root, source)
    assert uninstall(again, purge=True) == 0
    assert again.runner.commands == []
    assert "nothing to change" in capsys.readouterr().out


def test_live_install_needs_root(monkeypatch, source):
    from station.commands import install as cmd

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    args = cmd.argparse.Namespace(
        purge=False, uninstall=False, root=Path("/"), dry_run=False, source=source,
        python=None, yes=True,
    )  # fmt: skip
    with pytest.raises(StationError, match="sudo"):
        cmd.run(args)
    with pytest.raises(StationError, match="--uninstall"):
        cmd.run(cmd.argparse.Namespace(**{**vars(args), "purge": True}))


def test_loosened_permissions_are_put_back(root, source):
    install(make_host(root, source), assume_yes=True, ask=None)
    key = root / SECRET_KEY.lstrip("/")
    content = key.read_text()
    key.chmod(0o644)
    (root / DATA_DIR.lstrip("/")).chmod(0o755)
    if os.geteuid() == 0:
        os.chown(key, 0, 0)
    install(make_host(root, source), assume_yes=True, ask=None)
    assert mode(key) == 0o600 and key.read_text() == content
    assert key.stat().st_uid == STATION_UID
    assert mode(root / DATA_DIR.lstrip("/")) == 0o750


def test_the_venv_is_installed_pinned_by_the_checkouts_constraints(root, source):
    """pip gets ``--constraint <checkout>/constraints.txt`` (tools/lock writes it), and a
    new lock is a changed checkout: the venv is reinstalled."""
    (source / "constraints.txt").write_text("flask==3.1.3\n")
    host = make_host(root, source)
    install(host, assume_yes=True, ask=None)
    pip = next(c for c in host.runner.commands if c[1:4] == ["-m", "pip", "install"])
    assert pip[pip.index("--constraint") + 1] == str(source / "constraints.txt")
    assert pip[-1] == str(source)
    (source / "constraints.txt").write_text("flask==3.1.4\n")
    again = make_host(root, source)
    install(again, assume_yes=True, ask=None)
    assert any(c[1:4] == ["-m", "pip", "install"] for c in again.runner.commands)


def test_the_repository_pins_every_requirement_and_no_rpi_gpio():
    """constraints.txt (tools/lock) pins the station's own dependencies and leaves RPi.GPIO
    out; the drv2605 pin stays inside pyproject's bound (<2)."""
    import tomllib

    from packaging.requirements import Requirement

    lines = (REPO / "constraints.txt").read_text().splitlines()
    pins = dict(ln.split("==", 1) for ln in lines if ln.strip() and not ln.startswith("#"))
    pins = {k.lower().replace("_", "-").replace(".", "-"): v for k, v in pins.items()}
    assert "rpi-gpio" not in pins
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-").replace(".", "-")
        assert name in pins, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(pins[name]), (req.name, str(req.specifier), pins[name])
