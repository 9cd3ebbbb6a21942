"""A simulated PWM channel: the sysfs channel's rules, with every write in the trace.

It shares ``hardware.pwm.PWMChannelBase`` with ``SysfsPWMChannel`` (same construction
state: disabled, duty 0, period from the frequency; same "write only when changed" rule;
same range check), so the trace shows the writes the real channel would make, no more
and no fewer.
"""

from __future__ import annotations

from typing import Any

from hardware.pwm import PWMChannelBase, period_ns_for
from hardware.trace import Trace

TRACE_NAMES = {"enable": "enable", "duty_cycle": "duty_cycle_ns", "period": "period_ns"}


class SimPWMChannel(PWMChannelBase):
    """PWM channel for the simulator; ``name`` is the actuator name used in the trace."""

    def __init__(self, *, name: str, trace: Trace, frequency_hz: float, channel: int = 0) -> None:
        super().__init__()
        self.name = name
        self._label = name
        self.channel = channel
        self.frequency_hz = float(frequency_hz)
        self._trace = trace
        self._closed = False
        self._initialise(period_ns_for(self.frequency_hz))

    def _write(self, name: str, value: int) -> None:
        self._trace.record(self.name, TRACE_NAMES[name], value)

    def _is_open(self) -> bool:
        return not self._closed

    def state(self) -> dict[str, Any]:
        """What the pin is physically doing, for the simulator's outputs view."""
        return {
            "enabled": self._enabled,
            "period_ns": self._period_ns,
            "duty_cycle_ns": self._duty_ns,
            "pulse_us": self._duty_ns / 1000 if self._enabled else 0.0,
        }

    def close(self) -> None:
        """Disable (recorded when it was on); safe to call twice."""
        if self._closed:
            return
        if self._enabled:
            self._write("enable", 0)
            self._enabled = False
        self._closed = True
