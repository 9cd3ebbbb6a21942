"""Where the installer acts: a root directory, a runner for system commands, a dry-run flag.

Every file operation and command of every install step goes through a ``Host``, so that
``--dry-run`` really writes nothing, ``--root DIR`` really confines the writes to DIR (and
records the commands instead of running them), and tests can swap in their own runner.
Users and groups are read from the root's own /etc/passwd and /etc/group, not this
process's view, for the same reason.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import StationError


class InstallError(StationError):
    """A step of the install failed; the message says which and what to do."""


class Runner:
    """Runs system commands for real (the live install)."""

    def run(self, argv: Sequence[str]) -> None:
        print("    $ " + " ".join(argv), flush=True)
        try:
            result = subprocess.run(list(argv), check=False, capture_output=True, text=True)
        except OSError as exc:
            raise InstallError(
                f"`{' '.join(argv)}` could not start ({exc}); install {argv[0]!r} "
                "(Raspberry Pi OS has it) or do this step by hand"
            ) from exc
        if result.returncode != 0:
            raise InstallError(
                f"`{' '.join(argv)}` failed with exit code {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}"
            )


@dataclass
class RecordingRunner(Runner):
    """Records commands instead of running them: ``--root`` and ``--dry-run``."""

    commands: list[list[str]] = field(default_factory=list)

    def run(self, argv: Sequence[str]) -> None:
        print("    would run: " + " ".join(argv), flush=True)
        self.commands.append(list(argv))


@dataclass(kw_only=True)
class Host:
    """The machine being installed: a root directory, a runner, and whether to write.

    Every file operation of every action goes through here so that ``dry_run`` really
    writes nothing and ``root`` really confines the writes.
    """

    root: Path
    source: Path
    runner: Runner
    dry_run: bool = False
    python: str = field(default_factory=lambda: getattr(sys, "_base_executable", sys.executable))
    # (major, minor) of ``python``; None: asked from ``python`` itself when first needed.
    python_version: tuple[int, int] | None = None

    @property
    def live(self) -> bool:
        return self.root == Path("/")

    def python_minor(self) -> tuple[int, int]:
        """The version of the Python the venv is made with (it decides how lgpio comes)."""
        if self.python_version is None:
            probe = "import sys; print(sys.version_info[0], sys.version_info[1])"
            try:
                result = subprocess.run(
                    [self.python, "-c", probe], capture_output=True, text=True, timeout=30
                )
                why = (result.stderr or result.stdout).strip()[-300:]
                if result.returncode == 0:
                    major, minor = result.stdout.split()
                    self.python_version = (int(major), int(minor))
            except (OSError, ValueError, subprocess.SubprocessError) as exc:
                why = str(exc)
            if self.python_version is None:
                raise InstallError(
                    f"--python {self.python}: could not run it to read its version ({why}); "
                    "pass --python with the path of a Python 3.11 or newer "
                    "(on Raspberry Pi OS: /usr/bin/python3)"
                )
        return self.python_version

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def root_flag(self, style: str = "--root={}") -> list[str]:
        """``useradd --root R`` / ``systemctl --root=R``: commands aimed at the root."""
        if self.live:
            return []
        return style.format(self.root).split(" ")

    def note(self, what: str) -> None:
        print(("    would: " if self.dry_run else "    ") + what, flush=True)

    def write(self, absolute: str, text: str, mode: int | None, *, exclusive: bool = False) -> None:
        """``mode=None`` keeps the file's mode (config.txt lives on FAT: no chmod there)."""
        self.note(f"write {absolute}" + (f" (mode {mode:04o})" if mode is not None else ""))
        if self.dry_run:
            return
        target = self.path(absolute)
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        # Created with its final mode, so a secret is never readable for a moment.
        fd = os.open(target, flags, 0o644 if mode is None else mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(target, mode)

    def mkdir(self, absolute: str, mode: int) -> None:
        self.note(f"create {absolute}/ (mode {mode:04o})")
        if not self.dry_run:
            self.path(absolute).mkdir(parents=True, exist_ok=True)
            os.chmod(self.path(absolute), mode)

    def chmod(self, absolute: str, mode: int) -> None:
        self.note(f"chmod {mode:04o} {absolute}")
        if not self.dry_run:
            os.chmod(self.path(absolute), mode)

    def chown(self, absolute: str, user: str) -> None:
        self.note(f"chown {user}:{user} {absolute}")
        if self.dry_run:
            return
        ids = account_ids(self, user)
        if ids is None and not self.live:
            # --root: useradd was only recorded, so there is nobody to give it to yet.
            print(f"    (skipped: no user {user!r} in {self.path('/etc/passwd')})", flush=True)
            return
        if ids is None:
            raise InstallError(f"user {user!r} does not exist in {self.path('/etc/passwd')}")
        os.chown(self.path(absolute), *ids)

    def remove(self, absolute: str) -> None:
        self.note(f"remove {absolute}")
        if self.dry_run:
            return
        target = self.path(absolute)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _table(host: Host, name: str) -> list[list[str]]:
    try:
        text = host.path(f"/etc/{name}").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def account_ids(host: Host, user: str) -> tuple[int, int] | None:
    """(uid, gid) of ``user`` in the root's /etc/passwd (not this process's view)."""
    for row in _table(host, "passwd"):
        if row[0] == user and len(row) > 3:
            return int(row[2]), int(row[3])
    return None


def group_members(host: Host) -> dict[str, set[str]]:
    return {
        row[0]: set(filter(None, row[3].split(",")))
        for row in _table(host, "group")
        if len(row) > 3
    }


def owned_as(host: Host, absolute: str, mode: int, user: str | None) -> bool:
    try:
        st = host.path(absolute).stat()
    except FileNotFoundError:
        return False
    if stat.S_IMODE(st.st_mode) != mode:
        return False
    if user is None:
        return True
    ids = account_ids(host, user)
    return ids is not None and (st.st_uid, st.st_gid) == ids


def dpkg_installed(host: Host, package: str) -> bool:
    """Whether dpkg's database in the root says ``package`` is installed."""
    try:
        text = host.path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    for stanza in text.split("\n\n"):
        fields = dict(
            line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != " "
        )
        if fields.get("Package", "").strip() == package:
            return fields.get("Status", "").split()[-1:] == ["installed"]
    return False
