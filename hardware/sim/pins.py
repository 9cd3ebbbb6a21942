"""gpiozero mock pins that model the station's wiring and record every level change.

gpiozero runs unchanged on these pins (``MockFactory`` with our pin class), so the panel,
the LEDs and the haptic EN lines use the same code as on a Pi. What the stock mock pins
lack, and this module adds:

* **The trace.** Every change of a pin's level is recorded (device ``gpio<N>``, what
  ``pin``, value 0/1): LED blinks, EN lines, button presses, all timestamped.
* **External contacts that beat the internal pull.** A button or the e-stop is a contact
  to ground. ``press(pin)`` closes it (the pin reads low even with the pull-up on) and
  ``release(pin)`` opens it (the pull-up wins: high). The stock mock drives the pin to
  its pull whenever the pull is set, so a contact closed before the device is created
  would be lost; here it survives, like a real wire.
* **Fail-safe pull-downs.** Each DRV2605 EN line has a 10-47 kOhm resistor to ground, so
  a pin that nobody drives (device closed, process dead, strict_gpiod) reads low and the
  driver is off. Pins given in ``pull_downs`` behave like that: when a device releases
  one (gpiozero's ``close()`` makes it a floating input) it falls to 0, and the trace
  shows it.

The e-stop is a normally-closed contact to ground: in normal use the contact is closed
(``press``); hitting the mushroom or cutting the wire opens it (``release``) and the
pull-up makes the pin read high = e-stop active. A simulator therefore closes the e-stop
contact at start-up (``factory.press(estop_pin)``), before or after the panel exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gpiozero.exc import PinFixedPull, PinInvalidFunction, PinInvalidPull
from gpiozero.pins.mock import MockFactory, MockPin

from hardware.trace import Trace


class TracedPin(MockPin):
    """A mock pin with an external contact, an optional external pull and a trace."""

    def __init__(self, factory: TracedMockFactory, info) -> None:
        self._contact: bool | None = None  # level forced by a closed contact, None = open
        super().__init__(factory, info)
        self._external_pull = "down" if self._number in factory.pull_downs else None
        self._trace = factory.trace
        self._device = f"gpio{self._number}"

    # -- recording ------------------------------------------------------------------------
    def _change_state(self, value) -> bool:
        changed = super()._change_state(value)
        if changed:
            self._trace.record(self._device, "pin", int(bool(value)))
            listener = self.factory.listeners.get(self._number)
            if listener is not None:
                listener(bool(value))
        return changed

    # -- the electrical model -------------------------------------------------------------
    def _set_function(self, value) -> None:
        if value not in ("input", "output"):
            raise PinInvalidFunction("function must be input or output")
        self._function = value
        if value == "input":
            self._settle()

    def _set_pull(self, value) -> None:
        # Same checks as MockPin, but the level then follows the whole circuit (a closed
        # contact beats the internal pull) instead of jumping to the pull.
        if self.function != "input":
            raise PinFixedPull(f"cannot set pull on non-input pin {self!r}")
        if self.info.pull and value != self.info.pull:
            raise PinFixedPull(f"{self!r} has a fixed pull resistor")
        if value not in ("floating", "up", "down"):
            raise PinInvalidPull("pull must be floating, up, or down")
        self._pull = value
        self._settle()

    def input_level(self) -> bool | None:
        """What the pin reads as an input: closed contact, else internal pull, else the
        board's resistor; ``None`` for a floating pin (it keeps its last level)."""
        if self._contact is not None:
            return self._contact
        if self._pull in ("up", "down"):
            return self._pull == "up"
        if self._external_pull is not None:
            return self._external_pull == "up"
        return None

    def _settle(self) -> None:
        if self._function != "input":
            return
        level = self.input_level()
        if level is True:
            self.drive_high()
        elif level is False:
            self.drive_low()

    def connect(self, level: bool | None) -> None:
        """Close a contact to ``level`` (False = ground) or open it (``None``)."""
        self._contact = level
        self._settle()


class TracedMockFactory(MockFactory):
    """gpiozero's ``MockFactory`` making ``TracedPin``s that record into ``trace``.

    ``pull_downs``: pins with a resistor to ground on the board (the DRV2605 EN lines).
    """

    def __init__(
        self, *, trace: Trace, pull_downs: Iterable[int] = (), revision: str | None = None
    ) -> None:
        self.trace = trace
        self.pull_downs = frozenset(int(p) for p in pull_downs)
        # pin -> callback(level): what the pin is wired to (a DRV2605 model's EN input)
        self.listeners: dict[int, Callable[[bool], None]] = {}
        super().__init__(revision=revision, pin_class=TracedPin)

    def traced_pin(self, pin: int) -> TracedPin:
        found = self.pin(pin)
        assert isinstance(found, TracedPin)
        return found

    def press(self, pin: int) -> None:
        """Close the contact on ``pin`` to ground (a pull-up button reads low = pressed)."""
        self.traced_pin(pin).connect(False)

    def release(self, pin: int) -> None:
        """Open the contact on ``pin`` (the pull-up makes it read high)."""
        self.traced_pin(pin).connect(None)

    def set_contact(self, pin: int, *, closed: bool) -> None:
        """Close or open a contact to ground, e.g. the normally-closed e-stop."""
        if closed:
            self.press(pin)
        else:
            self.release(pin)

    def level(self, pin: int) -> int:
        """The pin's current level, 0 or 1."""
        return int(bool(self.traced_pin(pin).state))

    def released_level(self, pin: int) -> int | None:
        """What ``pin`` reads when nobody drives it (device closed or process gone):
        0 for a pin with a fail-safe pull-down, ``None`` (floating) otherwise."""
        return released_level(pin, pull_downs=self.pull_downs)


def released_level(pin: int, *, pull_downs: Iterable[int]) -> int | None:
    """The level of an unowned pin: low where the board has a pull-down (EN lines)."""
    return 0 if pin in frozenset(pull_downs) else None


def make_pin_factory(
    *, trace: Trace, en_pins: Iterable[int] = (), estop_pin: int | None = None
) -> TracedMockFactory:
    """The simulator's pin factory: pull-downs on ``en_pins`` and the normally-closed
    e-stop contact closed (not pressed), as on a healthy station at power-up."""
    factory = TracedMockFactory(trace=trace, pull_downs=en_pins)
    if estop_pin is not None:
        factory.press(estop_pin)
    return factory
