"""A simulated I2C bus with the ``busio.I2C`` interface the Adafruit libraries use.

Why a bus and not a mock driver: the real ``adafruit_drv2605`` and ``adafruit_tca9548a``
code runs unchanged on top of it, so the simulator exercises the exact byte sequences
the Pi will send. Devices (register models) attach at 7-bit addresses; a TCA9548A model
routes to the devices on its enabled channels.

Errors look like Linux ``i2c-dev``: an address nobody acknowledges raises
``OSError(errno.EREMOTEIO)`` (adafruit_bus_device turns that into "No I2C device at
address"), two devices answering at one address raise ``OSError(errno.EIO)`` because a
real bus would return garbage.

Hot path (runs under the engine's 1 kHz loop): one dict lookup per transaction, one
counter increment, no logging, no slicing copies.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from hardware.trace import Trace

_EREMOTEIO_TEXT = os.strerror(errno.EREMOTEIO)


def nack_error(address: int) -> OSError:
    """The error Linux gives for an address that is not acknowledged."""
    return OSError(errno.EREMOTEIO, f"{_EREMOTEIO_TEXT} (no ACK from 0x{address:02x})")


@runtime_checkable
class I2CTarget(Protocol):
    """What a simulated device implements. ``i2c_write``/``i2c_read`` raise
    ``nack_error`` when the device does not answer (missing, hung, EN low)."""

    def bind(self, trace: Trace | None, name: str) -> None: ...

    def responds(self) -> bool: ...

    def i2c_write(self, buffer: Any, start: int, end: int) -> None: ...

    def i2c_read(self, buffer: Any, start: int, end: int) -> None: ...


class Router(Protocol):
    """A multiplexer: ``routes`` maps an address to the devices reachable through it now."""

    routes: dict[int, tuple[I2CTarget, ...]]

    def describe(self, device: I2CTarget) -> str: ...


class SimI2CBus:
    """A ``busio.I2C`` look-alike holding attached device models.

    ``transactions`` counts every ``writeto`` / ``readfrom_into`` /
    ``writeto_then_readfrom`` (failed ones too: they cost bus time), so a benchmark can
    report transactions per RTP update. ``scan`` is not counted.
    """

    def __init__(self, *, trace: Trace | None = None) -> None:
        self.trace = trace
        self.transactions = 0
        self._lock = threading.Lock()
        self._direct: dict[int, I2CTarget] = {}
        self._names: dict[int, str] = {}
        self._routers: list[Router] = []
        self._closed = False

    # --- wiring ---------------------------------------------------------------------
    def attach(self, address: int, device: I2CTarget, *, name: str | None = None) -> I2CTarget:
        """Put ``device`` on the bus at ``address``; ``name`` labels its trace records
        (the actuator name for a DRV2605, "mux" for a multiplexer)."""
        if not 0x03 <= address <= 0x77:
            raise ValueError(f"I2C address 0x{address:02x} is outside 0x03..0x77")
        if address in self._direct:
            raise ValueError(
                f"address 0x{address:02x} already holds {self._names[address]}; "
                "two devices at one address collide (put them behind a multiplexer)"
            )
        label = name or f"i2c@0x{address:02x}"
        device.bind(self.trace, label)
        self._direct[address] = device
        self._names[address] = label
        if hasattr(device, "routes"):
            self._routers.append(device)  # type: ignore[arg-type]
        return device

    def detach(self, address: int) -> None:
        device = self._direct.pop(address, None)
        self._names.pop(address, None)
        if device is not None and device in self._routers:
            self._routers.remove(device)  # type: ignore[arg-type]

    def devices(self) -> Iterator[tuple[int, str, I2CTarget]]:
        for address, device in self._direct.items():
            yield address, self._names[address], device

    # --- busio.I2C interface --------------------------------------------------------
    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def writeto(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        self.transactions += 1
        self._check_locked()
        self._target(address).i2c_write(buffer, start, len(buffer) if end is None else end)

    def readfrom_into(
        self, address: int, buffer: Any, *, start: int = 0, end: int | None = None
    ) -> None:
        self.transactions += 1
        self._check_locked()
        self._target(address).i2c_read(buffer, start, len(buffer) if end is None else end)

    def writeto_then_readfrom(
        self,
        address: int,
        buffer_out: Any,
        buffer_in: Any,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
    ) -> None:
        """Write then read with a repeated start: one transaction on the wire."""
        self.transactions += 1
        self._check_locked()
        device = self._target(address)
        device.i2c_write(buffer_out, out_start, len(buffer_out) if out_end is None else out_end)
        device.i2c_read(buffer_in, in_start, len(buffer_in) if in_end is None else in_end)

    def scan(self) -> list[int]:
        """Addresses that acknowledge now (direct devices and enabled mux channels)."""
        found = {a for a, d in self._direct.items() if d.responds()}
        for router in self._routers:
            for address, targets in router.routes.items():
                if any(t.responds() for t in targets):
                    found.add(address)
        return sorted(found)

    def deinit(self) -> None:
        self._closed = True

    def __enter__(self) -> SimI2CBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # --- internals ------------------------------------------------------------------
    def _check_locked(self) -> None:
        if self._closed:
            raise RuntimeError("the simulated I2C bus was deinitialised; open a new one")
        if not self._lock.locked():
            raise RuntimeError("I2C transfer without holding the bus lock; call try_lock()")

    def _target(self, address: int) -> I2CTarget:
        device = self._direct.get(address)
        for router in self._routers:
            routed = router.routes.get(address)
            if routed:
                if device is not None or len(routed) > 1:
                    raise self._collision(address)
                device = routed[0]
        if device is None:
            raise nack_error(address)
        return device

    def _collision(self, address: int) -> OSError:
        where = []
        if address in self._direct:
            where.append(f"{self._names[address]} on the bus")
        for router in self._routers:
            where += [router.describe(t) for t in router.routes.get(address, ())]
        return OSError(
            errno.EIO,
            f"bus collision at 0x{address:02x}: {' and '.join(where)} both answer; "
            "enable only one multiplexer channel holding that address",
        )
