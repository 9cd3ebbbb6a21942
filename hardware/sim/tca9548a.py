"""A register model of the TI TCA9548A 1-to-8 I2C multiplexer.

The chip has one control byte: bit n set connects downstream channel n to the bus. A
transaction to any other address reaches every device on an enabled channel that holds
that address; two such devices answer at once, which on a real bus corrupts the
transfer, so the simulated bus raises ``OSError(EIO)``. Every control write lands in the
trace as ``(mux, "select", mask)``.

Attach the mux to a ``SimI2CBus`` at 0x70..0x77 and its devices to its channels::

    bus.attach(0x70, mux, name="mux")
    mux.attach(0, 0x5A, forearm_model, name="forearm")

Nested multiplexers are not modelled (a mux on a mux channel routes nothing).
"""

from __future__ import annotations

from typing import Any

from hardware.sim.i2c import I2CTarget, nack_error
from hardware.trace import Trace

CHANNELS = 8


class TCA9548AModel:
    """The mux itself is an ``I2CTarget``; ``routes`` is what the bus consults for every
    other address (rebuilt on each control write, so a transaction costs one lookup)."""

    def __init__(self, *, address: int = 0x70) -> None:
        if not 0x70 <= address <= 0x77:
            raise ValueError(f"TCA9548A address 0x{address:02x} must be 0x70..0x77")
        self.address = address
        self.control = 0x00  # all channels off after power-up / reset
        self.present = True
        self.nack = False
        self.routes: dict[int, tuple[I2CTarget, ...]] = {}
        self._channels: list[dict[int, I2CTarget]] = [{} for _ in range(CHANNELS)]
        self._names: dict[int, str] = {}  # id(device) -> label
        self._trace: Trace | None = None
        self.name = "mux"

    # --- wiring ---------------------------------------------------------------------
    def bind(self, trace: Trace | None, name: str) -> None:
        self._trace = trace
        self.name = name
        for channel in self._channels:
            for device in channel.values():
                device.bind(trace, self._names[id(device)])

    def attach(
        self, channel: int, address: int, device: I2CTarget, *, name: str | None = None
    ) -> I2CTarget:
        """Put ``device`` at ``address`` on downstream ``channel``; ``name`` labels its
        trace records (the actuator name)."""
        if not 0 <= channel < CHANNELS:
            raise ValueError(f"TCA9548A channel {channel} must be 0..{CHANNELS - 1}")
        if address in self._channels[channel]:
            raise ValueError(f"channel {channel} already has a device at 0x{address:02x}")
        label = name or f"ch{channel}@0x{address:02x}"
        self._channels[channel][address] = device
        self._names[id(device)] = label
        device.bind(self._trace, label)
        self._rebuild()
        return device

    def device(self, channel: int, address: int) -> I2CTarget | None:
        return self._channels[channel].get(address)

    def describe(self, device: I2CTarget) -> str:
        for n, channel in enumerate(self._channels):
            if device in channel.values():
                return f"{self._names[id(device)]} on {self.name} channel {n}"
        return repr(device)

    def inject_fault(self, fault: str) -> None:
        """``missing`` or ``nack``: the mux stops answering and its channels disconnect
        (as after its RESET line drops)."""
        if fault == "missing":
            self.present = False
        elif fault == "nack":
            self.nack = True
        else:
            raise ValueError(f"unknown mux fault {fault!r}; choose missing or nack")
        self.control = 0
        self._rebuild()

    def reset(self) -> None:
        """The RESET line pulsed (or a brown-out): every channel off."""
        self.control = 0
        self._rebuild()

    def clear_faults(self) -> None:
        self.present = True
        self.nack = False

    # --- I2C target -----------------------------------------------------------------
    def responds(self) -> bool:
        return self.present and not self.nack

    def i2c_write(self, buffer: Any, start: int, end: int) -> None:
        if not (self.present and not self.nack):
            raise nack_error(self.address)
        if end <= start:
            return  # address-only probe
        self.control = buffer[end - 1]  # several bytes: the last one wins
        if self._trace is not None:
            self._trace.record(self.name, "select", self.control)
        self._rebuild()

    def i2c_read(self, buffer: Any, start: int, end: int) -> None:
        if not (self.present and not self.nack):
            raise nack_error(self.address)
        for i in range(start, end):
            buffer[i] = self.control

    # --- internals ------------------------------------------------------------------
    def _rebuild(self) -> None:
        routes: dict[int, list[I2CTarget]] = {}
        if self.present and not self.nack:
            for n, channel in enumerate(self._channels):
                if self.control >> n & 1:
                    for address, device in channel.items():
                        routes.setdefault(address, []).append(device)
        self.routes = {a: tuple(ds) for a, ds in routes.items()}
