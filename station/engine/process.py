"""The engine process: open the hardware (outputs off first), serve, always end off.

``EngineRuntime`` wires the parts (hardware, engine loop thread, panel control, event
pump, watchdog, IPC server, sd_notify); ``station engine`` runs it in the main thread
with SIGTERM/SIGINT handlers that only request a stop and a shutdown, so every way out
(normal end, exception, signal) passes through ``Engine.run``'s ``finally`` and
``HardwareSet.close`` (outputs off).

In simulator mode ``SimStateFile`` writes the physical state (EN levels, chip outputs,
which pid drives the lines) to ``<data_dir>/sim-state.json`` every few ms from its own
thread, so a test can SIGKILL the engine and then judge what the hardware would do
without it (see ``station.engine.simstate``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from station.engine.core import Engine
from station.engine.events import EventHub
from station.engine.ipc import EngineServer
from station.engine.panel_control import PanelControl
from station.engine.rt import RtOptions
from station.engine.sdnotify import Notifier
from station.engine.service import EngineService
from station.engine.simstate import SimStateFile
from station.engine.step_cue import StepCue
from station.engine.watchdog import Watchdog
from station.paths import socket_path
from station.wiring import WiringConfig

log = logging.getLogger(__name__)
ESCALATE_EXIT = 70
THREAD_STACK = 512 * 1024
HELPER_PRIORITY = 1


def _escalate_exit() -> None:
    """The loop is stuck inside a hardware call: die so the kernel releases the lines."""
    os._exit(ESCALATE_EXIT)


class EngineRuntime:
    """Everything the engine process runs, started in order and closed in reverse."""

    def __init__(
        self,
        *,
        wiring: WiringConfig,
        simulate: bool,
        data_dir: Path,
        rt: RtOptions | None = None,
        serve: bool = True,
        escalate: Any = _escalate_exit,
        state_file: bool = False,
        hw: Any = None,
    ) -> None:
        from hardware.backend import open_hardware
        from hardware.calibration import CalibrationStore

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # open_hardware forces every output off before it returns: nothing happens first.
        self.hw = hw or open_hardware(wiring, simulate=simulate, data_dir=self.data_dir)
        self.hub = EventHub()
        self.engine = Engine(hw=self.hw, rt=rt, hub=self.hub)
        # The file the drivers restore calibration from at every start (open_hardware
        # gives each HapticDriver the same one); the engine reports and returns it.
        self.engine.calibration_store = CalibrationStore.in_data_dir(self.data_dir)
        self.panel = PanelControl(engine=self.engine, panel=self.hw.panel)
        self.step_cue = StepCue(engine=self.engine, panel_control=self.panel)  # LEDs only
        self.notifier = Notifier()
        self.watchdog = Watchdog(engine=self.engine, notifier=self.notifier, escalate=escalate)
        self.server = (
            EngineServer(socket_path(self.data_dir), EngineService(engine=self.engine))
            if serve
            else None
        )
        self.simstate = (
            SimStateFile(
                hw=self.hw, lock=self.engine.hw_lock, path=self.data_dir / "sim-state.json"
            )
            if state_file and self.hw.sim is not None
            else None
        )
        self._thread: threading.Thread | None = None

    @property
    def socket_path(self) -> Path:
        return socket_path(self.data_dir)

    def start(self) -> EngineRuntime:
        """Loop thread first; the socket opens only once the loop is running."""
        self.hub.start()
        self._thread = threading.Thread(target=self._run_loop, name="engine-loop", daemon=True)
        self._thread.start()
        self.watchdog.start()
        if self.simstate is not None:
            self.simstate.start()
        if self.server is not None:
            self.server.start()
        self.notifier.ready()
        return self

    def _run_loop(self) -> None:
        try:
            self.engine.run()
        except BaseException:
            log.exception("engine loop crashed; outputs were forced off")
            raise

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the loop thread ends; True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        self.notifier.stopping()
        if self.server is not None:
            self.server.close()
        self.watchdog.close()
        self.engine.shutdown()
        self.wait(5.0)
        if self.simstate is not None:
            self.simstate.close()
        self.step_cue.close()
        self.hw.close()  # outputs off again, pins released
        self.hub.close()
        self.notifier.close()

    def __enter__(self) -> EngineRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(*, wiring: WiringConfig, simulate: bool, data_dir: Path, sim_state: bool = False) -> int:
    """``station engine``: run until SIGTERM/SIGINT; exit 0 with every output off."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    eng_cfg = wiring.engine
    # Small thread stacks: mlockall(MCL_FUTURE) commits every thread's whole stack.
    threading.stack_size(THREAD_STACK)
    # Every engine thread just above normal tasks (the loop thread goes higher): a helper
    # thread holding the GIL must not be preempted by the web app while the loop waits
    # for it (priority inversion through the GIL). systemd's unit does the same with
    # CPUSchedulingPolicy=fifo. Best effort; the loop's own set-up warns if refused.
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(HELPER_PRIORITY))
    rt = RtOptions(fifo_priority=eng_cfg.realtime_priority, cpu=eng_cfg.cpu, mlock=True)
    runtime = EngineRuntime(
        wiring=wiring,
        simulate=simulate,
        data_dir=data_dir,
        rt=rt,
        state_file=simulate and sim_state,
    )
    done = threading.Event()

    def _signal(signum: int, _frame: Any) -> None:
        runtime.engine.request_stop("user", by=signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    try:
        runtime.start()
        mode = "simulator" if simulate else "hardware"
        print(f"station engine: {mode}, {wiring.engine.rate_hz} Hz, socket {runtime.socket_path}",
              file=sys.stderr, flush=True)  # fmt: skip
        while not done.wait(0.5):
            if not runtime.wait(0):
                continue
            return 1  # the loop thread died: outputs are off (its finally ran)
        return 0
    finally:
        runtime.close()
