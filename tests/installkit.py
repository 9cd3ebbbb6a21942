"""Helpers for the installer tests (tests/test_installer*.py): a temporary root, a frozen
copy of the checkout, and a runner that performs each system command's effect there.

System commands (useradd, pip, systemctl ...) cannot run here, so the tests give the
installer a runner that performs each command's effect on the files under the root, the
way the real tool would (a user line in etc/passwd, a venv directory, wants symlinks).
Everything else - files, modes, owners, config.txt - is the installer's own real work.

The fixtures ``root`` and ``source`` are imported by each test module.
"""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from station.install.host import Host, RecordingRunner
from station.install.installer import UNITS

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


LIVE_ONLY_SYSTEMCTL = ("daemon-reload", "start", "restart", "try-restart", "stop")


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
        elif tool == "haproxy" and args[1:3] == ["-c", "-q"]:
            pass  # haproxy's own check of the generated config (on a live install)
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
    if (REPO / "constraints.txt").is_file():
        shutil.copy(REPO / "constraints.txt", src / "constraints.txt")
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


# --- reading the root as the OS would ----------------------------------------------------
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


def apt_commands(host: Host) -> list[list[str]]:
    return [c for c in host.runner.commands if {"apt-get", "apt-mark"} & set(c)]


def lgpio_apt(host: Host) -> list[list[str]]:
    """The apt commands that concern python3-lgpio (the front door's haproxy and openssl
    are installed too: ``station.install.proxy_plan``)."""
    return [c for c in apt_commands(host) if "python3-lgpio" in c]


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
