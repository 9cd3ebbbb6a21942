"""Station processes a test starts, each in its own process group that is always killed.

Every process goes through :func:`spawn`: it runs in a new session (its own process group,
so whatever it starts in turn, such as the engine and app under ``station run``, shares the
group) and its group id is registered twice:

- in this process, so that :func:`kill` in a fixture's ``finally`` and the session-finish
  hook in tests/conftest.py kill every group still registered;
- with a small *reaper* process (started on first use, in a session of its own) that holds
  the read end of a pipe. When pytest ends in any way at all, including pytest-timeout's
  ``os._exit(1)`` (the "thread" method runs no ``atexit`` handlers and no ``finally``) or a
  SIGKILL, the pipe closes and the reaper kills every group it was told about.

Nothing a test starts can outlive the suite.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

_lock = threading.Lock()
_groups: set[int] = set()
_reaper: subprocess.Popen[bytes] | None = None

# The reaper: reads "+PGID" / "-PGID" lines; at EOF (pytest gone) SIGKILLs what is left.
_REAPER = r"""
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    line = line.strip()
    if line[:1] == b"+":
        groups.add(int(line[1:]))
    elif line[:1] == b"-":
        groups.discard(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


def _tell_reaper(line: str) -> None:
    global _reaper
    if _reaper is None or _reaper.poll() is not None:
        _reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    assert _reaper.stdin is not None
    with contextlib.suppress(OSError):
        _reaper.stdin.write(line.encode() + b"\n")
        _reaper.stdin.flush()


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` in a new process group, registered for killing."""
    kwargs["start_new_session"] = True
    with _lock:
        proc: subprocess.Popen[Any] = subprocess.Popen(args, **kwargs)
        _groups.add(proc.pid)
        _tell_reaper(f"+{proc.pid}")
    return proc


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill(proc: subprocess.Popen[Any] | None, sig: int = signal.SIGKILL) -> None:
    """Kill the process's whole group (the process and everything it started), reap it,
    and forget it. Safe to call twice and on a process that already exited."""
    if proc is None:
        return
    kill_group(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    if sig == signal.SIGKILL or proc.poll() is not None:
        forget(proc)


def forget(proc: subprocess.Popen[Any]) -> None:
    """The group is gone (killed and reaped): stop tracking it. A group whose leader has
    exited may still hold children, so :func:`kill` kills the group before forgetting."""
    with _lock:
        if proc.pid in _groups:
            _groups.discard(proc.pid)
            _tell_reaper(f"-{proc.pid}")


def kill_all() -> None:
    """SIGKILL every registered group (session finish, atexit)."""
    with _lock:
        groups = list(_groups)
        _groups.clear()
        for pgid in groups:
            kill_group(pgid)
            if _reaper is not None and _reaper.poll() is None:
                _tell_reaper(f"-{pgid}")


def live_groups() -> list[int]:
    """Registered groups that still have a member (for a leak check)."""
    alive = []
    for pgid in list(_groups):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pgid)
    return alive


atexit.register(kill_all)


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now, for a process a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
