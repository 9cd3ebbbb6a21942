"""A loop that SPINS (not sleeps) cannot starve the watchdog: every output goes off within
the watchdog bound, shown in the simulator's trace.

Why a busy spin and not a sleep: a sleeping loop gives the CPU and the GIL away, so any
watchdog runs. A spinning one keeps both: on one CPU a SCHED_FIFO loop would starve a
normal-priority watchdog outright, and in Python a spinner hands the GIL to a waiting
thread only every switch interval. The watchdog therefore runs one SCHED_FIFO priority
above the loop (station.engine.rt.apply_watchdog_realtime), and drops the drivers' EN
lines (GPIO, not I2C) without waiting for the hardware lock.

The allowance over the configured bound is derived, not guessed: the watchdog's own check
period, plus twice the GIL hand-off latency MEASURED here against a spinning thread
(once to wake, once more because the spinner takes the GIL back while the watchdog works),
plus twice the time the switch-off itself takes, measured uncontended on this machine.
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import sys
import threading
import time
from typing import Any

import pytest

from tests import procs
from tests.engine.helpers import running_engine, wait_for_event
from tests.engine.test_stops import BUSY, HAPTICS

SPIN_MS = 400
MS = 1_000_000


def _gil_handoff_ns(samples: int = 25) -> int:
    """Worst lateness of a 1 ms sleep in this thread while another thread busy-spins in
    Python: what a waiting thread pays to get the GIL back (about the switch interval)."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    late = []
    try:
        for _ in range(samples):
            t = time.monotonic_ns()
            time.sleep(0.001)
            late.append(time.monotonic_ns() - t - MS)
    finally:
        stop.set()
        spinner.join()
    return max(0, max(late))


def _switch_off_ns(rt: Any) -> int:
    """How long the full switch-off takes with nobody competing (EN low, brush parked,
    the register writes on the simulated bus), median of a few, drivers powered."""
    times = []
    for _ in range(5):
        with rt.engine.hw_lock:
            rt.hw.start_all()
            t = time.monotonic_ns()
            rt.hw.all_off()
            times.append(time.monotonic_ns() - t)
    return int(statistics.median(times))


def _first_en_low(trace: Any, name: str, since_ns: int) -> int:
    low = [r for r in trace.select(name, "EN") if r.t_ns >= since_ns and r.value == 0]
    assert low, f"{name}: EN never went low after the spin began"
    return low[0].t_ns


def _spin_started(rt: Any, since_ns: int) -> int:
    deadline = time.monotonic() + 2
    while rt.engine.stall_started_ns < since_ns:
        assert time.monotonic() < deadline, "the loop never began the spin"
        time.sleep(0.001)
    return rt.engine.stall_started_ns


# BUSY with the forearm ramping up over 5 s: its RTP changes every few ticks, so the
# driver keeps being written (a steady level is written once and then left alone).
RAMPING = copy.deepcopy(BUSY)
RAMPING["steps"][0]["segments"][0]["ramp_up_ms"] = 5000


def _arm_and_run(rt: Any, c: Any) -> None:
    c.call("arm", program=RAMPING, session_id="spin")
    c.call("start")
    time.sleep(0.3)
    outputs = c.call("sim.outputs")
    assert outputs["forearm"]["active"] and outputs["shoulder"]["active"], outputs


@contextlib.contextmanager
def _cpu_hogs(n: int):
    # own process groups, killed even if pytest is ended meanwhile (tests/procs.py)
    hogs = [procs.spawn([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them take the CPUs
        yield
    finally:
        for p in hogs:
            procs.kill(p)


@contextlib.contextmanager
def _one_cpu():
    """Every thread created meanwhile (the engine's) shares one CPU with the loop, so
    only the watchdog's priority can get it past a spinning SCHED_FIFO loop."""
    import os

    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _run_spin_outside_lock(tmp_path, hogs: int, one_cpu: bool = False) -> dict[str, float]:
    pinning = _one_cpu() if one_cpu else contextlib.nullcontext()
    with pinning, running_engine(tmp_path) as (rt, c):
        loop_rt = c.call("status")["realtime"]
        # Measured before the hogs start: the machine's own figures, not the load's.
        t_off = _switch_off_ns(rt)
        with _cpu_hogs(hogs):
            handoff = _gil_handoff_ns()
            _arm_and_run(rt, c)
            wd_rt = rt.watchdog.rt_result
            if any(a.startswith("SCHED_FIFO") for a in loop_rt["applied"]):
                # the loop is real-time: the watchdog must be above it (or say why not)
                assert any(a.startswith("SCHED_FIFO") for a in wd_rt.applied), wd_rt
            bound_ns = rt.engine.watchdog_ms * MS
            slack_ns = int(rt.watchdog.check_s * 1e9) + 2 * handoff + 2 * t_off
            t_req = time.monotonic_ns()
            c.call("sim.stall", ms=SPIN_MS, spin=True)
            wd = wait_for_event(rt, "watchdog")
            t_spin = _spin_started(rt, t_req)
            assert wd["action"] == "outputs_off"
            trace = rt.hw.sim.trace
            en_low = {name: _first_en_low(trace, name, t_spin) for name in HAPTICS}
            parked = [r for r in trace.select("brush", "duty_cycle_ns") if r.t_ns >= t_spin]
            assert parked, "brush: never parked after the spin began"
            silence = max(*en_low.values(), parked[0].t_ns)
            # the watchdog acted while the loop was still spinning, not after it
            assert silence < t_spin + SPIN_MS * MS
            assert silence - t_spin <= bound_ns + slack_ns, (
                f"silenced {(silence - t_spin) / MS:.2f} ms after the spin began; bound "
                f"{bound_ns / MS:.0f} ms + slack {slack_ns / MS:.2f} ms"
            )
            ev = wait_for_event(rt, "stopped", reason="watchdog")
            assert ev["t_ns"] >= t_spin + SPIN_MS * MS  # the loop reports it once back
            assert not any(o["active"] for o in c.call("sim.outputs").values())
            return {
                "hogs": hogs,
                "silence_ms": (silence - t_spin) / MS,
                "bound_ms": bound_ns / MS,
                "slack_ms": slack_ns / MS,
                "gil_handoff_ms": handoff / MS,
                "switch_off_ms": t_off / MS,
                "switchinterval_ms": sys.getswitchinterval() * 1000,
            }


@pytest.mark.timing
def test_a_spinning_loop_is_silenced_within_the_bound(tmp_path):
    m = _run_spin_outside_lock(tmp_path, hogs=0)
    print(f"\nwatchdog spin, idle machine: {m}")


@pytest.mark.timing
def test_a_spinning_loop_is_silenced_within_the_bound_under_load(tmp_path):
    """Two CPU-bound processes beside the engine (this machine's every CPU busy)."""
    m = _run_spin_outside_lock(tmp_path, hogs=2)
    print(f"\nwatchdog spin, 2 CPU hogs: {m}")


@pytest.mark.timing
def test_a_spinning_loop_on_the_watchdogs_only_cpu_is_silenced_within_the_bound(tmp_path):
    """Loop and watchdog on ONE CPU: a SCHED_FIFO loop that spins would starve a
    normal-priority watchdog (the kernel lets normal tasks have only what real-time
    throttling leaves, 50 ms a second); one priority above the loop, it preempts it."""
    m = _run_spin_outside_lock(tmp_path, hogs=0, one_cpu=True)
    print(f"\nwatchdog spin, loop and watchdog on one CPU: {m}")


class _SpinningHaptic:
    """A test double around a real driver whose ``set_rtp`` busy-spins once (holding the
    engine's hardware lock, as a hung bus call would)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.spin_s = 0.0
        self.spin_started_ns = 0

    def set_rtp(self, code: int) -> None:
        if self.spin_s:
            spin, self.spin_s = self.spin_s, 0.0
            self.spin_started_ns = time.monotonic_ns()
            t_end = time.monotonic() + spin
            while time.monotonic() < t_end:
                pass
        self._real.set_rtp(code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_loop_spinning_inside_the_hardware_lock_drops_en_then_escalates(tmp_path):
    """EN low on every driver within the bound without the lock; the lock never comes,
    so the watchdog escalates (in the engine process: exit, the kernel releases the lines
    and the pull-downs hold EN low; here a recording callback)."""
    escalated: list[int] = []
    with running_engine(tmp_path, escalate=lambda: escalated.append(time.monotonic_ns())) as (
        rt,
        c,
    ):
        double = _SpinningHaptic(rt.hw.haptics["forearm"])
        rt.hw.haptics["forearm"] = double
        t_off = _switch_off_ns(rt)
        handoff = _gil_handoff_ns()
        _arm_and_run(rt, c)
        bound_ns = rt.engine.watchdog_ms * MS
        slack_ns = int(rt.watchdog.check_s * 1e9) + 2 * handoff + 2 * t_off
        double.spin_s = SPIN_MS / 1000
        wait_for_event(rt, "watchdog", action="escalate")
        t_spin = double.spin_started_ns
        assert t_spin
        en_low = {name: _first_en_low(rt.hw.sim.trace, name, t_spin) for name in HAPTICS}
        worst = max(en_low.values()) - t_spin
        assert worst <= bound_ns + slack_ns, f"EN low {worst / MS:.2f} ms after the spin"
        # the lock wait is one more bound; escalation comes after it, during the spin.
        # When that timed wait ends the watchdog must win the GIL back from the spinning
        # loop once more: one more hand-off than EN low needed (CI missed by 0.14 ms
        # without it)
        assert escalated, "the watchdog never escalated"
        assert escalated[0] - t_spin <= 2 * bound_ns + slack_ns + handoff
        assert escalated[0] < t_spin + SPIN_MS * MS
        print(
            f"\nspin inside the lock: EN low {worst / MS:.2f} ms, escalated "
            f"{(escalated[0] - t_spin) / MS:.2f} ms after the spin began (bound "
            f"{bound_ns / MS:.0f} ms, slack {slack_ns / MS:.2f} ms)"
        )
        wait_for_event(rt, "stopped")
        assert not any(o["active"] for o in c.call("sim.outputs").values())


def test_watchdog_refusal_is_one_warning_naming_the_fix(monkeypatch, caplog):
    """Where SCHED_FIFO is not permitted the engine still runs, with one clear warning."""
    import os

    from station.engine.rt import RtOptions, apply_watchdog_realtime

    def refuse(*_a: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    res = apply_watchdog_realtime(RtOptions(fifo_priority=50, cpu=None))
    assert res.applied == []
    assert len(res.refused) == 1 and "CAP_SYS_NICE" in res.refused[0]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "watchdog" in warnings[0].getMessage()


def test_watchdog_goes_above_the_loop_and_off_its_cpu():
    """Run in a throwaway thread (its scheduling dies with it)."""
    import os

    from station.engine.rt import RtOptions, apply_watchdog_realtime

    cpus = sorted(os.sched_getaffinity(0))
    out: dict[str, Any] = {}

    def body() -> None:
        res = apply_watchdog_realtime(RtOptions(fifo_priority=50, cpu=cpus[0]))
        out["res"] = res
        out["policy"] = os.sched_getscheduler(0)
        out["prio"] = os.sched_getparam(0).sched_priority
        out["cpus"] = os.sched_getaffinity(0)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    res = out["res"]
    if any("SCHED_FIFO" in r for r in res.refused):
        pytest.skip(f"SCHED_FIFO not permitted here: {res.refused}")
    assert out["policy"] == os.SCHED_FIFO and out["prio"] == 51
    if len(cpus) > 1:
        assert cpus[0] not in out["cpus"]
    else:
        assert any("CPU of its own" in r for r in res.refused)
