"""The engine: a state machine around the fixed-rate loop; the sole hardware owner.

States: idle -> armed (program loaded, drivers powered at amplitude 0) -> running <->
paused -> stopped / idle (completed); fault and estop are stop states that need a new
arm (fault) or an explicit reset (estop, latched). What each command (arm, start, pause,
...) does is in ``station.engine.commands`` (``LoopCommands``, given the engine); this
module is the loop and the transitions. What it reports (status, events) is typed in
``station.engine.messages``; its words (states, stop reasons) come from ``station.vocab``.

Threads. ``run()`` is the loop thread: it alone touches the hardware (under
``hw_lock``, which the watchdog also takes to force outputs off). Every other thread (IPC,
panel callbacks, signal handlers) only sets a flag or queues a command and wakes the
loop. Stop requests are plain attribute writes checked at the top of every tick, and they
wake the loop's sleep, so stop never waits for a command queue or a deadline.

Memory. ``gc.freeze()`` after start-up and ``gc.disable()`` for the whole life of the
loop; a collection runs only while idle (after each run and every few idle seconds).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import sys
import threading
import time
from typing import Any

from station import vocab
from station.engine import messages as ev
from station.engine.commands import LoopCommands, QueuedCommand
from station.engine.events import EventHub
from station.engine.faultpoll import FaultPoller
from station.engine.loop import Ticker, TimingRecorder
from station.engine.messages import EngineStatus, FaultInfo, LastStop, SessionId, StopRequest
from station.engine.player import Player
from station.engine.rt import RtOptions, RtResult, apply_realtime
from station.errors import EngineError, HardwareError
from station.program import Program

__all__ = ["Engine", "EngineError"]  # EngineError: importers have long used it from here
IDLE_GC_S = 10.0
# Nothing powered: the loop only answers commands (which wake it) and beats for the
# watchdog's relaxed idle bound, so it sleeps long. Idle CPU is what this buys.
IDLE_OFF_WAIT_S = 0.5
SWITCH_INTERVAL_S = 0.0001
# How long a thread that asked for a stop sleeps (GIL released) so the woken real-time
# loop takes the GIL first: two switch intervals (see request_stop).
HAND_OVER_S = 2 * SWITCH_INTERVAL_S


class Engine:
    """The state machine and loop; its commands are ``self.commands`` (``LoopCommands``)."""

    def __init__(
        self,
        *,
        hw: Any,
        rate_hz: int | None = None,
        rt: RtOptions | None = None,
        spin_us: int = 200,
        hub: EventHub | None = None,
    ) -> None:
        self.hw = hw
        self.rate_hz = rate_hz or hw.wiring.engine.rate_hz
        self.watchdog_ms = hw.wiring.engine.watchdog_ms
        self.rt = rt or RtOptions(fifo_priority=None, timer_slack_ns=1)
        self.rt_result = RtResult()
        self.hub = hub or EventHub()
        self.hw_lock = threading.Lock()
        self.recorder = TimingRecorder(rate_hz=self.rate_hz)
        self.ticker = Ticker(rate_hz=self.rate_hz, spin_us=spin_us, recorder=self.recorder)
        self.poller = FaultPoller(haptics=hw.haptics)
        self._idle_wait_s = min(0.025, self.watchdog_ms / 4000)
        # Set whenever the drivers are powered: wakes a watchdog resting in its idle pace.
        self.drivers_event = threading.Event()
        self._commands: collections.deque[QueuedCommand] = collections.deque()
        self._wake = threading.Event()
        self.state: vocab.EngineState = "idle"
        self.idle_pattern: vocab.IdlePattern = "idle"
        self.estop_latched = False
        self.fault: FaultInfo | None = None
        self.last_stop: LastStop | None = None
        self.last_timing: dict[str, Any] | None = None
        self.live_rating: int | None = None
        self.session_id: SessionId | None = None
        self.program: Program | None = None
        self.player: Player | None = None
        self.program_ms: float | None = None
        self.t0_ns = 0  # program time 0 of the running stretch; ``step_end`` moves it
        self.heartbeat_ns = time.monotonic_ns()
        # Tells a returning app whether this is the engine it knew (event seqs continue)
        # or a restarted one (seqs start again).
        self.engine_id = f"{os.getpid()}-{time.time_ns()}"
        self.drivers_on = False
        self.pending_start_by: str | None = None  # set by start, emitted by the loop
        self.stop_request: StopRequest | None = None
        self._shutdown = False
        self.stopped_event = threading.Event()  # set whenever a stop has silenced outputs
        # Simulator-only test hook: stall the next tick (no lock held) by sleeping, or with
        # ``stall_spin`` by a busy spin on the clock (the watchdog must not be starved).
        self.stall_ms = 0.0
        self.stall_spin = False
        self.stall_started_ns = 0  # when the last stall began (tests measure from it)
        self.time_scale = 1.0  # sim only (sim.time_scale): program ms per real ms; see _play
        # The watchdog counts the heartbeat as fresh until then (a calibration holds the
        # hardware lock for ~1.1 s); see station.engine.watchdog.
        self.relaxed_until_ns = 0
        self.calibrating: str | None = None  # the actuator being auto-calibrated
        self.watchdog_rt = RtResult()
        self.calibration_store: Any = None  # hardware.calibration.CalibrationStore
        self.panel_control: Any = None  # station.engine.panel_control.PanelControl
        self.commands = LoopCommands(self)
        self._table = self.commands.table()

    # ================= other threads: flags and commands =================================
    def request_stop(
        self, reason: vocab.StopReason, by: str | None = None, *, hand_over: bool = True
    ) -> None:
        """Stop always wins: a flag the loop checks first thing every tick, a wake-up, and
        (``hand_over``) this thread lets go of the GIL for a moment so the woken loop can
        take it. Without that, a CPU hog could preempt this non-real-time thread (a GPIO
        callback, an IPC handler) while it still held the GIL, and the real-time loop would
        wait a scheduler slice for it. The watchdog passes False: it silences the outputs
        itself next, and must not wait for the GIL behind a spinning loop."""
        if reason not in vocab.STOP_REASONS:
            raise EngineError(
                "bad_params", f"stop reason {reason!r}; allowed: {vocab.STOP_REASONS}"
            )
        if reason == "estop":
            self.estop_latched = True
        req = self.stop_request
        if req is None or reason == "estop":
            self.stop_request = StopRequest(reason, by, time.monotonic_ns())
        cal = self.calibrating
        if cal is not None and cal in self.hw.haptics:
            # A calibration holds the hardware lock for ~1 s and drives its actuator:
            # its EN drops now (a GPIO write, no bus), so the stop need not wait for it.
            with contextlib.suppress(Exception):
                self.hw.haptics[cal].silence()
        self.stopped_event.clear()
        self.ticker.wake()
        self._wake.set()
        if hand_over:
            time.sleep(HAND_OVER_S)

    def rate(self, value: int) -> bool:
        """A live rating; stops at once when it reaches the program's stop threshold."""
        self.live_rating = value
        prog = self.program
        thr = prog.stop_threshold if prog is not None else None
        if thr is not None and value >= thr and self.state in vocab.PLAYING_STATES:
            self.request_stop("rating", by=f"rating {value} >= threshold {thr}")
            return True
        return False

    def submit(self, name: str, timeout: float = 5.0, **params: Any) -> Any:
        """Queue a command for the loop thread and wait for its result."""
        cmd = QueuedCommand(name, params)
        self._commands.append(cmd)
        self.ticker.wake()
        self._wake.set()
        if not cmd.done.wait(timeout):
            raise EngineError("timeout", f"the engine did not answer {name!r} in {timeout} s")
        if cmd.error is not None:
            raise cmd.error
        return cmd.result

    def post(self, name: str, **params: Any) -> None:
        """Queue a command without waiting (panel callbacks)."""
        self._commands.append(QueuedCommand(name, params))
        self.ticker.wake()
        self._wake.set()

    def shutdown(self) -> None:
        self._shutdown = True
        self.request_stop("user", by="shutdown")

    def status_model(self) -> EngineStatus:
        prog, player, program_ms = self.program, self.player, self.program_ms
        return EngineStatus(
            state=self.state,
            mode="sim" if self.hw.sim is not None else "hardware",
            session_id=self.session_id,
            armed=None if prog is None else ev.ArmedInfo.of(prog),
            program_ms=None if program_ms is None else round(program_ms, 1),
            step=None if player is None else player.step_index,
            estop_latched=self.estop_latched,
            led=getattr(self.hw.panel, "led_pattern", None),
            fault=self.fault,
            last_stop=self.last_stop,
            live_rating=self.live_rating,
            rate_hz=self.rate_hz,
            actuators=sorted(self.hw.haptics) + sorted(self.hw.brushes),
            realtime=self.rt_result.as_dict(),
            watchdog_realtime=self.watchdog_rt.as_dict(),
            calibrating=self.calibrating,
            timing=self.last_timing,
            fault_polls=ev.FaultPolls(count=self.poller.polls,
                                      max_gap_ms=round(self.poller.max_gap_ns / 1e6, 1)),
            event_seq=self.hub.last_seq,
            engine_id=self.engine_id,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        """The ``status`` answer as the wire's JSON-ready dict."""
        return self.status_model().model_dump()

    # ================= the loop thread ===================================================
    def run(self) -> None:
        """The engine's life: outputs off, real-time set-up, then serve until shutdown.
        Whatever ends it (shutdown, exception) ends with every output off."""
        try:
            with self.hw_lock:
                self.hw.all_off()
            self.rt_result = apply_realtime(self.rt)
            # The GIL: another thread holding it delays the loop by up to the switch
            # interval (5 ms by default); 100 us keeps a waiting loop's delay short.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            if getattr(self.hw.panel, "estop_active", False):
                self.estop_latched = True
                self.set_state("estop")
            gc.collect()
            gc.freeze()
            gc.disable()
            idle_since = time.monotonic()
            while not self._shutdown:
                self.heartbeat_ns = time.monotonic_ns()
                if self.state == "running":
                    self._play()
                    gc.collect()
                    idle_since = time.monotonic()
                    continue
                if self._wake.wait(self._idle_timeout()):
                    self._wake.clear()
                self.heartbeat_ns = time.monotonic_ns()
                self._idle_tick()
                if time.monotonic() - idle_since > IDLE_GC_S:
                    gc.collect()
                    idle_since = time.monotonic()
        finally:
            with self.hw_lock:
                self.hw.all_off()
            self.drivers_on = False
            gc.enable()

    def _idle_timeout(self) -> float:
        """How long the loop may sleep when nothing plays: short while drivers are
        powered (fault polls, the watchdog's tight bound) or a button is held (long-press
        detection); long when everything is off (commands and stops wake it anyway)."""
        pc = self.panel_control
        if self.drivers_on or (pc is not None and pc.needs_poll()):
            return self._idle_wait_s
        return IDLE_OFF_WAIT_S

    def _idle_tick(self) -> None:
        if self.stop_request is not None:
            self._do_stop()
        while self._commands:
            self._handle(self._commands.popleft())
        if self.panel_control is not None:
            self.panel_control.poll(time.monotonic())
        if self.drivers_on and self.state in ("armed", "paused"):
            try:  # armed or paused, a chip can still fail: a fault stop, never a dead loop
                with self.hw_lock:
                    self.poller.tick(time.monotonic_ns(), int(self._idle_wait_s * 2e9))
            except Exception as exc:
                self._hardware_failed(exc)

    def _play(self) -> None:
        """The fixed-rate loop for one running stretch (until pause, stop or the end)."""
        player = self.player
        assert player is not None
        ticker = self.ticker
        scale = self.time_scale
        self.t0_ns = t0 = ticker.start() - int((self.program_ms or 0.0) * 1e6 / scale)
        by = self.pending_start_by
        if by is not None:
            self.pending_start_by = None
            self.hub.emit(ev.StartedEvent(session_id=self.session_id, by=by, t0_ns=t0))
        deadline = ticker.deadline_ns
        n, pc, steps, poller = 0, self.panel_control, player.program.steps, self.poller
        period_ns = ticker.period_ns
        try:
            while True:
                if self.stop_request is not None:
                    self._do_stop()
                    return
                while self._commands:
                    self._handle(self._commands.popleft())
                    if self.state != "running":
                        return
                if deadline < 0:  # woken early by a stop or a command: flags seen, wait on
                    deadline = ticker.wait_same()
                    continue
                self.program_ms = t_ms = (deadline - self.t0_ns) * scale / 1e6
                hold = False
                with self.hw_lock:
                    if self.stop_request is not None:
                        continue
                    while player.step_due(t_ms):
                        self._finish_step()
                        if player.finished:
                            self.stop_request = StopRequest("completed", None, time.monotonic_ns())
                            break
                        self.start_step()
                        hold |= scale > 1 and steps[player.step_index].kind == "rate"
                    else:
                        poller.now_ns = deadline
                        player.tick(t_ms)
                        poller.tick(deadline, 2 * period_ns)
                        n += 1
                if self.stop_request is not None:
                    continue
                if hold:  # sim time runs fast (time_scale): a rate step waits for the answer
                    self.commands.pause(by="sim")
                    return
                if self.stall_ms:
                    self._stall()
                if pc is not None and n % 10 == 0:
                    pc.poll(time.monotonic())
                deadline = ticker.wait_next()
                self.heartbeat_ns = time.monotonic_ns()
        except Exception as exc:  # any hardware or bus exception is a fault
            self._hardware_failed(exc)

    def _stall(self) -> None:
        """The test hook (``sim.stall``): hold the loop thread up once, off the lock."""
        stall, self.stall_ms = self.stall_ms, 0.0
        self.stall_started_ns = time.monotonic_ns()
        if self.stall_spin:
            t_end = time.monotonic() + stall / 1000.0
            while time.monotonic() < t_end:  # a busy spin: holds the GIL between switches
                pass
        else:
            time.sleep(stall / 1000.0)

    # ================= transitions (loop thread only) ====================================
    def set_state(self, state: vocab.EngineState) -> None:
        if state != self.state:
            prev, self.state = self.state, state
            self.hub.emit(ev.StateEvent(state=state, previous=prev, session_id=self.session_id))

    def start_step(self) -> None:
        p = self.player
        assert p is not None and self.program is not None
        st = self.program.steps[p.step_index]
        self.hub.emit(ev.StepStartedEvent(session_id=self.session_id, index=st.index, kind=st.kind,
                                     label=st.label, start_ms=st.start_ms,
                                     duration_ms=st.duration_ms))  # fmt: skip

    def _finish_step(self) -> None:
        p = self.player
        assert p is not None and self.program is not None
        st = self.program.steps[p.step_index]
        self.hub.emit(ev.StepFinishedEvent(session_id=self.session_id, index=st.index, kind=st.kind,
                                      label=st.label, delivered=p.delivered()))  # fmt: skip
        p.advance()

    def _hardware_failed(self, exc: Exception) -> None:
        """A device call raised. When the watchdog has already dropped every EN (its stop
        is pending) a chip that stopped answering is that stop, not a new fault."""
        if self.stop_request is not None and self.stop_request.reason == "watchdog":
            self._do_stop()
        else:
            self._fault(getattr(exc, "device", "engine"), str(exc) or type(exc).__name__)

    def _fault(self, device: str, message: str) -> None:
        self.fault = FaultInfo(device=device, message=message)
        self.hub.emit(ev.FaultEvent(device=device, message=message, session_id=self.session_id))
        if self.stop_request is None or self.stop_request.reason != "estop":
            self.stop_request = StopRequest("fault", device, time.monotonic_ns())
        self._do_stop()

    def _do_stop(self) -> None:
        """Silence everything, then settle the state. Runs on the loop thread."""
        req = self.stop_request or StopRequest("user", None, time.monotonic_ns())
        with self.hw_lock:
            self.hw.all_off()
        self.drivers_on = False
        self.stop_request = None
        reason, by, t_req = req
        was = self.state
        playing = was in vocab.PLAYING_STATES
        if playing and self.player is not None and not self.player.finished:
            self._finish_step()
        if playing:
            self.last_timing = self.recorder.stats().as_dict()
            self.hub.emit(ev.TimingEvent(session_id=self.session_id, stats=self.last_timing))
        if playing or was == "armed":  # a stray stop press while idle ends nothing
            self.last_stop = LastStop(reason=reason, by=by, program_ms=self.program_ms,
                                      session_id=self.session_id)  # fmt: skip
        if playing or was == "armed" or reason in vocab.ALWAYS_REPORTED:
            self.hub.emit(ev.StoppedEvent(reason=reason, by=by, session_id=self.session_id,
                                     program_ms=self.program_ms, request_t_ns=t_req))  # fmt: skip
        self.player = None
        self.program = None
        self.program_ms = None
        if self.estop_latched:
            self.set_state("estop")
        elif reason == "fault":
            self.set_state("fault")
        elif reason == vocab.COMPLETED or (not playing and was in ("idle", "armed")):
            self.set_state("idle" if was != "stopped" else "stopped")
        else:
            self.set_state("stopped")
        self.stopped_event.set()

    def _handle(self, cmd: QueuedCommand) -> None:
        try:
            fn = self._table.get(cmd.name)
            if fn is None:
                raise EngineError("unknown_method", f"no engine command {cmd.name!r}")
            cmd.result = fn(**cmd.params)
        except Exception as exc:
            cmd.error = exc
            if isinstance(exc, HardwareError):
                self._fault(exc.device, str(exc))
        finally:
            cmd.done.set()
