"""What the simulated hardware would do after the engine process dies (SIGKILL).

A killed process runs no ``finally``: whatever the station does then is physics. On the
Pi that is: the kernel releases the process's gpiochip lines; with ``strict_gpiod`` a
released line becomes an input and the 10-47 kOhm pull-down on each DRV2605 EN pulls it
low, which shuts the chip down whatever its RTP register holds. (Without strict_gpiod the
line would keep its last level: that is why the wiring guide requires both.) Sysfs PWM is
a kernel device, not tied to the process: the servo keeps its last pulse, so the brush
holds its last position (still, but possibly touching the skin) until
``station safe-off`` (the unit's ExecStopPost) parks and detaches it.

The simulator lives inside the engine process and dies with it, so ``SimStateFile``
snapshots the physical state to a small JSON file from its own thread (every
``period_s``, atomically replaced), and ``after_death`` applies the rules above to the
last snapshot. The SIGKILL test reads the snapshot taken while a stimulus played (so the
test can fail: it first checks the snapshot shows an active output) and asserts what is
left on once the pull-downs apply.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from hardware.sim.pins import released_level


def snapshot(hw: Any) -> dict[str, Any]:
    sim = hw.sim
    pull_downs = sorted(getattr(sim.pins, "pull_downs", ()))
    return {
        "pid": os.getpid(),
        "pull_downs": pull_downs,
        "t_ns": time.monotonic_ns(),
        "outputs": sim.outputs(),
        "en": {
            h.name: {
                "pin": h.enable_pin,
                "level": int(bool(sim.chips[h.name].enabled)),
                "pull_down": h.enable_pin in pull_downs,
            }
            for h in hw.wiring.haptic
        },
        "brushes": {b.name: sim.pwm[b.name].state() for b in hw.wiring.brush},
    }


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def after_death(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The outputs once the process that wrote ``state`` is gone (see module docstring)."""
    if pid_alive(int(state["pid"])):
        raise RuntimeError(f"process {state['pid']} is still alive; kill it first")
    out: dict[str, dict[str, Any]] = {}
    for name, en in state["en"].items():
        # The simulator's own rule for a released line: low where the board has a
        # pull-down; otherwise unknown, and we assume the worst (its last level).
        released = released_level(en["pin"], pull_downs=state["pull_downs"])
        level = en["level"] if released is None else released
        before = state["outputs"][name]
        active = bool(before["active"]) and level == 1
        out[name] = {"active": active, "level": before["level"] if active else 0.0,
                     "en": level}  # fmt: skip
    for name in state["brushes"]:
        before = state["outputs"][name]
        # The kernel PWM keeps pulsing: the brush stays where it was, but stops moving.
        out[name] = {**before, "moving": False}
    return out


class SimStateFile:
    def __init__(self, *, hw: Any, lock: threading.Lock, path: Path, period_s: float = 0.02):
        self.hw = hw
        self.lock = lock
        self.path = Path(path)
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write_once(self) -> None:
        with self.lock:
            state = snapshot(self.hw)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine-simstate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            with contextlib.suppress(Exception):
                self.write_once()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            self.write_once()
