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

from station.errors import ConfigError, StationError
from station.install.boot_config import BLOCK_START, boot_lines
from station.install.host import Host, RecordingRunner
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


LIVE_ONLY_SYSTEMCTL = ("daemon-reload", "start", "restart", "stop")


class FakeSystemRunner(RecordingRunner):
    """Records every command and applies its effect under the root, like the real tool."""

    def __init__(self, root: Path, *, fail_modprobe: bool = False, fail_lgpio: bool = False):
        super().__init__()
        self.root = root
        self.fail_modprobe = fail_modprobe
        self.fail_lgpio = fail_lgpio

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
            # like venv: bin/python, and pyvenv.cfg (rewritten when run on an existing venv)
            venv = Path(args[-1])
            (venv / "bin").mkdir(parents=True, exist_ok=True)
            (venv / "bin" / "python").write_text("#!/bin/sh\n")
            system = "true" if "--system-site-packages" in args else "false"
            (venv / "pyvenv.cfg").write_text(
                f"home = /usr/bin\ninclude-system-site-packages = {system}\nversion = 3.13.5\n"
            )
        elif tool == "env" and args[2:4] == ["apt-get", "update"]:
            pass
        elif tool == "env" and args[2:4] == ["apt-get", "install"]:
            status = self.root / "var/lib/dpkg/status"
            status.parent.mkdir(parents=True, exist_ok=True)
            with status.open("a") as fh:
                for pkg in (a for a in args[4:] if not a.startswith("-")):
                    fh.write(f"\nPackage: {pkg}\nStatus: install ok installed\nVersion: 1\n")
        elif tool == "apt-mark" or (tool == "systemctl" and args[1] in LIVE_ONLY_SYSTEMCTL):
            pass
        elif tool == "modprobe":
            if self.fail_modprobe:
                from station.install.host import InstallError

                raise InstallError(f"`{' '.join(argv)}` failed: FATAL: Module not found")
        elif tool == "env" and args[-2:] == ["-c", "import lgpio"]:
            assert args[1].startswith("LG_WD=/"), "lgpio would leave its FIFO in the cwd"
            if self.fail_lgpio:
                from station.install.host import InstallError

                raise InstallError("ModuleNotFoundError: No module named 'lgpio'")
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


def make_host(
    root: Path, source: Path, *, dry_run: bool = False, version: tuple[int, int] = (3, 11)
) -> Host:
    runner = RecordingRunner() if dry_run else FakeSystemRunner(root)
    return Host(
        root=root, source=source, runner=runner, dry_run=dry_run, python="py3",
        python_version=version,
    )  # fmt: skip


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


# --- boot, service and fail-safe (issue 10) -----------------------------------------------
# Expected contents come from the OS documentation, not from the installer:
# modules-load.d(5): /etc/modules-load.d/<name>.conf, "a list of kernel module names to
#   load, separated by newlines"; empty lines and lines starting with # or ; are ignored.
# systemd-system.conf(5): drop-ins /etc/systemd/system.conf.d/*.conf, section [Manager],
#   RuntimeWatchdogSec= a time span (systemd.time(7)); the Broadcom watchdog's longest
#   timeout is about 15 s. config.txt: dtparam=watchdog=on, dtparam=strict_gpiod.

MODULES_D = "etc/modules-load.d"
SYSTEM_CONF_D = "etc/systemd/system.conf.d"


def modules_to_load(root: Path) -> list[str]:
    """What systemd-modules-load would load from the root, read the way modules-load.d(5)
    says (every *.conf in /etc/modules-load.d)."""
    names = []
    for conf in sorted((root / MODULES_D).glob("*.conf")):
        for line in conf.read_text().splitlines():
            if line.strip() and not line.strip().startswith(("#", ";")):
                names.append(line.strip())
    return names


def runtime_watchdog_usec(root: Path) -> int | None:
    """RuntimeWatchdogSec= as PID 1 would read it from the drop-ins (the last one wins),
    converted by systemd's own parser (`systemd-analyze timespan`)."""
    import configparser

    value = None
    for conf in sorted((root / SYSTEM_CONF_D).glob("*.conf")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read_string(conf.read_text())
        if parser.has_option("Manager", "RuntimeWatchdogSec"):
            value = parser.get("Manager", "RuntimeWatchdogSec")
    if value is None:
        return None
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze is missing: ./test installs Debian's systemd package"
    out = subprocess.run(
        [exe, "timespan", value], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    (usec,) = [ln.split(":")[1] for ln in out.splitlines() if ln.strip().startswith("μs:")]
    return int(usec)


def make_pi(root: Path, model: bytes = b"Raspberry Pi 5 Model B Rev 1.0\x00") -> None:
    path = root / "proc/device-tree/model"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model)


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


def apt_commands(host: Host) -> list[list[str]]:
    return [c for c in host.runner.commands if {"apt-get", "apt-mark"} & set(c)]


def test_bookworm_pi_gets_lgpio_from_pip_and_no_debian_package(root, source):
    make_pi(root)
    host = make_host(root, source, version=(3, 11))
    install(host, assume_yes=True, ask=None)
    assert apt_commands(host) == []
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
    assert apt_commands(gone) == [["apt-mark", "auto", "python3-lgpio"]]
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
    assert apt_commands(host) == []
    gone = make_host(root, source, version=(3, 13))
    uninstall(gone, purge=True)
    assert apt_commands(gone) == []  # not ours to give back


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


class LiveHost(Host):
    """A host that takes the live path (runs what only a real install runs: modprobe,
    daemon-reload, the lgpio import check) while its files still go under a temp root."""

    @property
    def live(self) -> bool:
        return True

    def root_flag(self, style: str = "--root={}") -> list[str]:
        return []


def live_host(root: Path, source: Path, **runner_kw) -> LiveHost:
    return LiveHost(
        root=root, source=source, runner=FakeSystemRunner(root, **runner_kw), python="py3",
        python_version=(3, 13),
    )  # fmt: skip


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
