"""systemd's notify protocol (READY=1, WATCHDOG=1) in a few lines of socket code.

Why not a library: the protocol is one datagram to the Unix socket named by
``$NOTIFY_SOCKET`` (an ``@`` prefix means the abstract namespace). When the variable is
absent (not run by systemd) every call is a no-op. Never called from the loop itself:
the watchdog thread pings only while the loop's heartbeat is fresh, so a hung loop stops
the pings and systemd kills and restarts the engine (the EN pull-downs then switch the
drivers off).
"""

from __future__ import annotations

import contextlib
import os
import socket


class Notifier:
    def __init__(self, *, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self._addr: str | None = None
        self._sock: socket.socket | None = None
        if addr:
            self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def watchdog_interval_s(self) -> float | None:
        """Half of systemd's WatchdogSec (``$WATCHDOG_USEC``), or None when not asked."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2e6
        except ValueError:
            return None

    def notify(self, message: str) -> bool:
        if self._sock is None or self._addr is None:
            return False
        with contextlib.suppress(OSError):
            self._sock.sendto(message.encode(), self._addr)
            return True
        return False

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
