"""Real-time set-up for the loop thread, best effort with one clear warning.

What it asks for, and why:
* ``SCHED_FIFO`` at the configured priority, for the calling thread only: the loop thread
  preempts everything else in the process and on the CPU (the IPC and event threads stay
  normal priority so they cannot starve it).
* CPU affinity (``engine.cpu``) for the calling thread: no migration between cores.
* ``mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)``: a page the loop has touched is
  never paged out, so no major faults in the loop once it has warmed up (process-wide,
  so only the engine process asks for it, never a test runner). ``MCL_ONFAULT`` (Linux
  4.4+) locks pages as they are first used instead of faulting in every mapping at once:
  without it every shared library and thread stack is loaded whole, which cost the
  engine 12 MB of RSS for pages it never reads. Older kernels fall back to the plain
  form.
* ``PR_SET_TIMERSLACK`` 1 ns: the kernel may otherwise coalesce our wake-up by 50 us.

The stall watchdog (``station.engine.watchdog``) is a thread of the same process and must
never be starved by a loop that spins: ``apply_watchdog_realtime`` puts it one SCHED_FIFO
priority ABOVE the loop (so a runnable watchdog preempts a spinning loop on the same CPU)
and, when the loop is pinned to a CPU, onto the other CPUs (so they never share one).
The GIL still has to change hands: a thread waiting for it forces the holder to drop it
after ``sys.getswitchinterval()`` (the engine sets 100 us), so a loop spinning in Python
delays the watchdog by about one switch interval, not indefinitely. A loop stuck in C
code that holds the GIL starves every thread; systemd's WatchdogSec is the layer for that.

Where the system refuses (no CAP_SYS_NICE, RLIMIT_MEMLOCK, not Linux), the engine still
runs; ``apply_realtime`` returns what failed and logs ONE warning naming each refusal and
the fix (systemd's ``CPUSchedulingPolicy=fifo`` / ``LimitMEMLOCK=infinity`` or running as
the station service), never a warning per tick.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
PR_SET_TIMERSLACK = 29


@dataclass(frozen=True)
class RtOptions:
    fifo_priority: int | None = 50  # None: leave the scheduler alone
    cpu: int | None = None
    mlock: bool = False
    timer_slack_ns: int | None = 1


@dataclass
class RtResult:
    applied: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"applied": list(self.applied), "refused": list(self.refused)}


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


def apply_realtime(opts: RtOptions) -> RtResult:
    """Apply what the system allows to the calling thread; warn once about the rest."""
    res = RtResult()
    libc = _libc()
    if opts.timer_slack_ns is not None:
        if libc is not None and libc.prctl(PR_SET_TIMERSLACK, opts.timer_slack_ns, 0, 0, 0) == 0:
            res.applied.append(f"timer slack {opts.timer_slack_ns} ns")
        else:
            res.refused.append("timer slack (prctl PR_SET_TIMERSLACK not available)")
    if opts.cpu is not None:
        try:
            os.sched_setaffinity(0, {opts.cpu})
            res.applied.append(f"CPU affinity {{{opts.cpu}}}")
        except (OSError, AttributeError, ValueError) as exc:
            res.refused.append(
                f"CPU affinity to CPU {opts.cpu} ({exc}); check engine.cpu against "
                f"the CPUs this machine has ({os.cpu_count()})"
            )
    if opts.fifo_priority is not None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(opts.fifo_priority))
            res.applied.append(f"SCHED_FIFO priority {opts.fifo_priority}")
        except (OSError, AttributeError) as exc:
            res.refused.append(
                f"SCHED_FIFO ({exc}); run as the station service (CPUSchedulingPolicy=fifo) "
                "or grant CAP_SYS_NICE"
            )
    if opts.mlock:
        if libc is not None and libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0:
            res.applied.append("mlockall (on fault)")
        elif libc is not None and libc.mlockall(MCL_CURRENT | MCL_FUTURE) == 0:
            res.applied.append("mlockall")
        else:
            err = ctypes.get_errno() if libc is not None else 0
            res.refused.append(
                f"mlockall ({os.strerror(err) if err else 'no libc'}); set LimitMEMLOCK=infinity"
            )
    if res.refused:
        log.warning(
            "engine: real-time set-up partly refused, timing is best effort: %s",
            "; ".join(res.refused),
        )
    return res


def apply_watchdog_realtime(loop: RtOptions | None) -> RtResult:
    """Real-time set-up for the calling (watchdog) thread, relative to the loop's options:
    SCHED_FIFO one priority above the loop's when the loop asks for SCHED_FIFO, and every
    allowed CPU except the loop's when the loop is pinned. Nothing to do for a loop that
    stays SCHED_OTHER and unpinned (then the kernel's fair scheduler shares the CPU).
    Logs ONE warning naming what was refused and the fix."""
    res = RtResult()
    if loop is None:
        return res
    if loop.fifo_priority is not None:
        try:
            top = os.sched_get_priority_max(os.SCHED_FIFO)
            prio = min(loop.fifo_priority + 1, top)
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
            res.applied.append(f"SCHED_FIFO priority {prio}")
            if prio <= loop.fifo_priority:
                res.refused.append(
                    f"a priority above the loop's ({loop.fifo_priority} is already the "
                    f"maximum, {top}); set [engine] realtime_priority below {top}"
                )
        except (OSError, AttributeError) as exc:
            res.refused.append(
                f"SCHED_FIFO above the loop ({exc}); run as the station service "
                "(CPUSchedulingPolicy=fifo) or grant CAP_SYS_NICE"
            )
    if loop.cpu is not None:
        try:
            others = os.sched_getaffinity(0) - {loop.cpu}
            if others:
                os.sched_setaffinity(0, others)
                res.applied.append(f"CPU affinity {sorted(others)} (the loop has CPU {loop.cpu})")
            else:
                res.refused.append(
                    f"a CPU of its own (the loop is pinned to CPU {loop.cpu}, the only one "
                    "this process may use); it relies on its priority"
                )
        except (OSError, AttributeError, ValueError) as exc:
            res.refused.append(f"CPU affinity away from CPU {loop.cpu} ({exc})")
    if res.refused:
        log.warning(
            "engine watchdog: real-time set-up partly refused, a spinning loop may delay it: %s",
            "; ".join(res.refused),
        )
    return res
