"""Telling a running Mosquitto to re-read its password file (SIGHUP) after
``station hub station add``, when that broker runs on this machine.

The broker is found by its command line, not a pid file: a Mosquitto process (``comm``
``mosquitto``) started with ``-c <data dir>/mosquitto/mosquitto.conf`` (as ``station hub
init`` says to start it and as systemd/station-hub-broker.service does). A broker on
another machine, or one we may not signal (another user's), is reported, not guessed at:
the caller then says to reload it by hand (``systemctl reload station-hub-broker``).
"""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def brokers_using(conf: Path, *, proc: Path = PROC) -> list[int]:
    """Pids of Mosquitto processes on this machine started with ``-c conf``."""
    want = str(Path(conf).resolve())
    found = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "mosquitto":
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        for flag, value in itertools.pairwise(args):
            if flag == "-c" and _same(value, want, cwd=entry):
                found.append(int(entry.name))
    return sorted(found)


def _same(path: str, want: str, *, cwd: Path) -> bool:
    if not os.path.isabs(path):
        try:
            path = os.path.join(os.readlink(cwd / "cwd"), path)
        except OSError:
            return False
    return str(Path(path).resolve()) == want


def reload_brokers(conf: Path) -> tuple[list[int], list[str]]:
    """SIGHUP every local broker using ``conf``: (pids signalled, problems)."""
    done: list[int] = []
    problems: list[str] = []
    for pid in brokers_using(conf):
        try:
            os.kill(pid, signal.SIGHUP)
            done.append(pid)
        except PermissionError:
            problems.append(f"not allowed to signal the broker (pid {pid}): run as its user")
        except ProcessLookupError:
            continue
    return done, problems
