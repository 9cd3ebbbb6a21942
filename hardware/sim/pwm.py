"""A simulated PWM channel: the sysfs channel's interface, with every write in the trace.

It mirrors ``hardware.pwm.SysfsPWMChannel`` exactly (same construction state: disabled,
duty 0, period from the frequency; same "write only when changed" rule; same range check)
so the trace shows the writes the real channel would make, no more and no fewer.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from hardware.pwm import period_ns_for
from hardware.trace import Trace
from station.errors import HardwareError


class SimPWMChannel:
    """PWM channel for the simulator; ``name`` is the actuator name used in the trace."""

    def __init__(self, *, name: str, trace: Trace, frequency_hz: float, channel: int = 0) -> None:
        self.name = name
        self.channel = channel
        self.frequency_hz = float(frequency_hz)
        self._trace = trace
        self._period_ns = period_ns_for(self.frequency_hz)
        self._duty_ns = 0
        self._enabled = False
        self._closed = False
        # The same three set-up writes the sysfs channel makes.
        trace.record(name, "enable", 0)
        trace.record(name, "duty_cycle_ns", 0)
        trace.record(name, "period_ns", self._period_ns)

    @property
    def period_ns(self) -> int:
        return self._period_ns

    @property
    def duty_cycle_ns(self) -> int:
        return self._duty_ns

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_duty_cycle_ns(self, duty_ns: int) -> None:
        duty = int(duty_ns)
        if duty == self._duty_ns:
            return
        if not 0 <= duty <= self._period_ns:
            raise ValueError(
                f"{self.name}: duty_cycle_ns = {duty}: must be 0..{self._period_ns} (the period)"
            )
        self._require_open()
        self._trace.record(self.name, "duty_cycle_ns", duty)
        self._duty_ns = duty

    def set_enabled(self, on: bool) -> None:
        on = bool(on)
        if on == self._enabled:
            return
        self._require_open()
        self._trace.record(self.name, "enable", int(on))
        self._enabled = on

    def _require_open(self) -> None:
        if self._closed:
            raise HardwareError(self.name, "the PWM channel is closed")

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
            self._trace.record(self.name, "enable", 0)
            self._enabled = False
        self._closed = True

    def __enter__(self) -> SimPWMChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
