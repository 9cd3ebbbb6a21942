"""What ``station run`` does while the station runs: keep each process up, say what happened.

Why (issue 13, "faults tell the truth"): under ``station run`` one process dying used to
end the run, and took the others with it. Now it behaves as the units on a Pi do
(systemd/*.service): a process that dies is reported on stderr and started again
(``Restart=``); the others go on: the engine keeps the panel stop working while the app
is down, and the app reconnects to the engine by itself (``station.app.engine_follow``).
When the engine dies, ``station safe-off`` runs first, as the engine unit's
``ExecStopPost`` does, so no output is left as the dead engine left it. A process that
keeps dying (``BURST`` times within ``WINDOW_S``, the engine unit's StartLimitBurst and
StartLimitIntervalSec) ends the run cleanly instead of looping. Every way out (Ctrl-C,
SIGTERM, a process that will not stay up, an error in ``station run`` itself) stops the
children, newest first, then runs the same safe-off.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BURST = 5
WINDOW_S = 60.0
STOP_S = 10.0


def say(text: str) -> None:
    print(f"station: {text}", file=sys.stderr, flush=True)


@dataclass(kw_only=True)
class Child:
    name: str
    start: Callable[[], subprocess.Popen]  # spawns it (and waits until it is ready)
    after_death: Callable[[], None] | None = None  # e.g. safe-off after the engine
    proc: subprocess.Popen | None = None
    deaths: list[float] = field(default_factory=list)


class GaveUp(Exception):
    """A process kept dying: the run ends (cleanly)."""


class Supervisor:
    def __init__(self, *, safe_off: Callable[[], None]) -> None:
        self.children: list[Child] = []
        self.safe_off = safe_off

    def add(self, child: Child) -> None:
        child.proc = child.start()
        self.children.append(child)

    def check(self) -> None:
        """One look at every child: a dead one is reported and restarted (or GaveUp)."""
        for child in self.children:
            proc = child.proc
            if proc is None or proc.poll() is None:
                continue
            now = time.monotonic()
            child.deaths = [t for t in child.deaths if now - t < WINDOW_S] + [now]
            say(
                f"the {child.name} stopped unexpectedly (exit code {proc.returncode}); "
                "the other processes go on"
            )
            if child.after_death is not None:
                child.after_death()
            if len(child.deaths) >= BURST:
                raise GaveUp(
                    f"the {child.name} died {len(child.deaths)} times within {WINDOW_S:.0f} s; "
                    "ending the run (its messages are above)"
                )
            say(f"starting the {child.name} again")
            child.proc = None
            child.proc = child.start()
            say(f"the {child.name} is back")

    def stop_all(self) -> None:
        """Newest first (the page and the stop listener, then the engine), then safe-off."""
        for child in reversed(self.children):
            stop(child.proc)
        self.safe_off()


def stop(proc: subprocess.Popen | None, timeout: float = STOP_S) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
