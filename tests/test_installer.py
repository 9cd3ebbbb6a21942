"""The appliance installer, run against a temporary root directory.

System commands (useradd, pip, systemctl ...) cannot run here, so the tests give the
installer a runner that performs each command's effect on the files under the root, the
way the real tool would (a user line in etc/passwd, a venv directory, wants symlinks).
Everything else - files, modes, owners, config.txt - is the installer's own real work.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from station.boot_config import BLOCK_START, boot_lines
from station.errors import ConfigError, StationError
from station.install_host import Host, RecordingRunner
from station.installer import (
    CONFIG,
    DATA_DIR,
    SECRET_KEY,
    UNITS,
    VENV,
    install,
    uninstall,
    wiring_boot_lines,
)

REPO = Path(__file__).resolve().parents[1]
# As root the fake user gets its own uid, so chown is really exercised; otherwise our own.
STATION_UID = 4242 if os.geteuid() == 0 else os.getuid()
STATION_GID = 4243 if os.geteuid() == 0 else os.getgid()
PI_CONFIG_TXT = """\
# For more options and information see http://rptl.io/configtxt
dtparam=audio=on
camera_auto_detect=1
auto_initramfs=1

[cm4]
otg_mode=1

[all]
"""


class FakeSystemRunner(RecordingRunner):
    """Records every command and applies its effect under the root, like the real tool."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def _edit(self, name: str, fn) -> None:
        path = self.root / "etc" / name
        lines = path.read_text().splitlines() if path.exists() else []
        path.write_text("".join(line + "\n" for line in fn(lines)))

    def run(self, argv: Sequence[str]) -> None:
        super().run(argv)
        args = [a for a in argv if not a.startswith("--root")]
        if "--root" in argv:  # "--root R" form: drop R too
            args.remove(str(self.root))
        tool = Path(args[0]).name
        if tool == "useradd":
            name = args[-1]
            self._edit("passwd", lambda ls: [*ls, f"{name}:x:{STATION_UID}:{STATION_GID}::/:/x"])
            self._edit("group", lambda ls: [*ls, f"{name}:x:{STATION_GID}:"])
        elif tool == "groupadd":
            self._edit("group", lambda ls: [*ls, f"{args[-1]}:x:{900 + len(ls)}:"])
        elif tool == "usermod":
            groups, name = args[args.index("--groups") + 1].split(","), args[-1]

            def add(lines: list[str]) -> list[str]:
                out = []
                for line in lines:
                    g, x, gid, members = line.split(":")
                    if g in groups:
                        members = ",".join(filter(None, [*members.split(","), name]))
                    out.append(f"{g}:{x}:{gid}:{members}")
                return out

            self._edit("group", add)
        elif tool == "userdel":
            name = args[-1]
            self._edit("passwd", lambda ls: [ln for ln in ls if not ln.startswith(name + ":")])
        elif args[1:3] == ["-m", "venv"]:
            (Path(args[3]) / "bin").mkdir(parents=True)
            (Path(args[3]) / "bin" / "python").write_text("#!/bin/sh\n")
        elif args[1:4] == ["-m", "pip", "install"]:
            (Path(args[0]).parent / "station").write_text("#!/bin/sh\n")
        elif tool == "systemctl" and args[1] in ("enable", "disable"):
            wants = self.root / "etc/systemd/system/multi-user.target.wants"
            wants.mkdir(parents=True, exist_ok=True)
            for unit in args[2:]:
                if args[1] == "enable":
                    (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
                else:
                    (wants / unit).unlink()
        else:
            raise AssertionError(f"the installer ran a command the test does not know: {argv}")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A frozen copy of the parts of the checkout the installer reads (others edit the
    real tree while the suite runs; the install digest must not move under the test)."""
    src = tmp_path / "src"
    (src / "station").mkdir(parents=True)
    (src / "systemd").mkdir()
    shutil.copy(REPO / "pyproject.toml", src / "pyproject.toml")
    shutil.copy(REPO / "station" / "default_wiring.toml", src / "station" / "default_wiring.toml")
    (src / "station" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    for unit in UNITS:
        shutil.copy(REPO / "systemd" / unit, src / "systemd" / unit)
    return src


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A minimal Raspberry Pi OS: passwd/group with gpio and i2c, a Bookworm config.txt."""
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (r / "etc" / "group").write_text("root:x:0:\ngpio:x:997:pi\ni2c:x:998:pi\n")
    (r / "boot" / "firmware").mkdir(parents=True)
    (r / "boot" / "firmware" / "config.txt").write_text(PI_CONFIG_TXT)
    return r


def make_host(root: Path, source: Path, *, dry_run: bool = False) -> Host:
    runner = RecordingRunner() if dry_run else FakeSystemRunner(root)
    return Host(root=root, source=source, runner=runner, dry_run=dry_run, python="py3")


def snapshot(root: Path) -> dict[str, tuple[int, int, int, bytes | str]]:
    """Every path under the root with mode, owner and content (or symlink target)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        body = os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else b""
        out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
    assert "reboot" in out and ":8080/" in out


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
