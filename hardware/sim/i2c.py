"""A simulated I2C bus with the ``busio.I2C`` interface the Adafruit libraries use.

Why a bus and not a mock driver: the real ``adafruit_drv2605`` and ``adafruit_tca9548a``
code runs unchanged on top of it, so the simulator exercises the exact byte sequences
the Pi will send. Devices (register models) attach at 7-bit addresses; a TCA9548A model
routes to the devices on its enabled channels.

Errors look like Linux ``i2c-dev``: an address nobody acknowledges raises
``OSError(errno.EREMOTEIO)`` (adafruit_bus_device turns that into "No I2C device at
address"), two devices answering at one address raise ``OSError(errno.EIO)`` because a
real bus would return garbage.

Bus time. Each transaction costs what it would on the wire plus the host's per-transfer
overhead (``BusTiming``), counted per transaction, in total and per engine tick (the
player marks tick boundaries with ``tick_mark``). With ``spend`` on, the bus also busy-waits
that long on the real clock, so the engine loop's lateness on the simulator includes bus
time; off (the default), it only counts, which keeps ManualClock tests instant.
``station engine --sim`` (so ``station run`` and ``station bench``) turns it on; the
environment overrides it: ``STATION_SIM_BUS_TIME=spend|count``,
``STATION_SIM_I2C_OVERHEAD_US=<us per transaction>``. The busy-wait holds the GIL, which
a real blocking ioctl releases (so other engine threads wait a little longer here than on
a Pi, and cannot delay the loop's return from a transfer as they could there).

Hot path (runs under the engine's 1 kHz loop): one dict lookup per transaction, a few
integer additions, no logging, no slicing copies.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from hardware.trace import Trace

_EREMOTEIO_TEXT = os.strerror(errno.EREMOTEIO)

ENV_BUS_TIME = "STATION_SIM_BUS_TIME"  # "spend" (busy-wait the modelled time) or "count"
ENV_OVERHEAD_US = "STATION_SIM_I2C_OVERHEAD_US"
DEFAULT_FREQUENCY_HZ = 400_000  # the wiring file's [i2c] frequency_hz default
# Host-side cost of one transaction on a Raspberry Pi 4 (I2C_RDWR ioctl through i2c-dev
# into i2c-bcm2835: syscall, message copy, FIFO set-up, the completion interrupt and the
# wake-up of the blocked thread). AN ESTIMATE, not a measurement: a Pi Zero at 400 kHz
# reading 14 bytes (write 1 + read 14, ~390 us on the wire) managed ~700 us per sample
# (raspberrypi.stackexchange.com/questions/109657), i.e. ~150 us of host time per
# transaction on a 1 GHz ARM11; a Pi 4's Cortex-A72 is several times faster, hence 50 us.
# Measure it on the Pi (time N ``writeto`` of one register, subtract 29 bit times each)
# and set STATION_SIM_I2C_OVERHEAD_US to the figure.
DEFAULT_HOST_OVERHEAD_US = 50.0

# Framing (I2C-bus specification, NXP UM10204, 3.1.4-3.1.6 and 3.1.10): every byte on the
# wire is 8 data bits plus an acknowledge bit (9 clocks); a transfer opens with a START and
# ends with a STOP, and a combined write-then-read has one repeated START between its
# halves. START, repeated START and STOP are counted as one bit time each.
BYTE_BITS = 9
CONDITION_BITS = 1


def write_bits(n_bytes: int) -> int:
    """Bit times of a write (or a read) of ``n_bytes`` after the address byte:
    START, address + R/W, the bytes, STOP."""
    return 2 * CONDITION_BITS + BYTE_BITS * (1 + n_bytes)


def write_read_bits(n_out: int, n_in: int) -> int:
    """Bit times of a combined transfer: START, address+W, ``n_out`` bytes, repeated
    START, address+R, ``n_in`` bytes, STOP."""
    return 3 * CONDITION_BITS + BYTE_BITS * (2 + n_out + n_in)


NACK_BITS = write_bits(0)  # START, an address nobody acknowledges, STOP


class BusTiming:
    """What a transaction costs: ``bits`` at ``frequency_hz`` plus ``host_overhead_us``.
    ``spend``: also busy-wait that long on the real clock (see the module docstring)."""

    def __init__(
        self,
        *,
        frequency_hz: int = DEFAULT_FREQUENCY_HZ,
        host_overhead_us: float | None = None,
        spend: bool | None = None,
    ) -> None:
        if frequency_hz <= 0:
            raise ValueError(f"I2C frequency_hz = {frequency_hz}; must be > 0")
        if host_overhead_us is None:
            host_overhead_us = float(os.environ.get(ENV_OVERHEAD_US, DEFAULT_HOST_OVERHEAD_US))
        if host_overhead_us < 0:
            raise ValueError(f"I2C host overhead {host_overhead_us} us; must be >= 0")
        if spend is None:
            spend = bus_time_from_env(default=False)
        self.frequency_hz = frequency_hz
        self.host_overhead_us = host_overhead_us
        self.spend = spend
        self.bit_ns = 1e9 / frequency_hz
        self.overhead_ns = round(host_overhead_us * 1000)

    def cost_ns(self, bits: int) -> int:
        return self.overhead_ns + round(bits * self.bit_ns)

    def as_dict(self) -> dict[str, Any]:
        return {"frequency_hz": self.frequency_hz, "bit_us": self.bit_ns / 1000,
                "host_overhead_us": self.host_overhead_us, "spend": self.spend}  # fmt: skip


def bus_time_from_env(*, default: bool) -> bool:
    """``STATION_SIM_BUS_TIME``: ``spend`` -> True, ``count`` -> False, unset -> default."""
    value = os.environ.get(ENV_BUS_TIME, "").strip().lower()
    if not value:
        return default
    if value not in ("spend", "count"):
        raise ValueError(f"{ENV_BUS_TIME}={value!r}; allowed: spend, count")
    return value == "spend"


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

    ``bus_ns`` is the modelled bus time of all of them (``timing``: wire bits at the
    clock plus host overhead), ``last_ns`` that of the latest one. ``tick_mark`` closes one
    engine tick's window; ``tick_stats`` gives transactions and bus time per tick (worst,
    mean) since ``reset_ticks``.
    """

    # per-tick bus use (reset_ticks sets them; declared here for the type checker)
    _tick_open: bool
    _tick_tx: int
    _tick_ns: int
    ticks: int
    tick_tx_total: int
    tick_ns_total: int
    tick_tx_max: int
    tick_ns_max: int

    def __init__(self, *, trace: Trace | None = None, timing: BusTiming | None = None) -> None:
        self.trace = trace
        self.timing = timing if timing is not None else BusTiming()
        self._overhead_ns = self.timing.overhead_ns
        self._bit_ns = self.timing.bit_ns
        self._spend = self.timing.spend
        self.transactions = 0
        self.bus_ns = 0
        self.last_ns = 0
        self.reset_ticks()
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
        end = len(buffer) if end is None else end
        self._deliver(address, write_bits(end - start)).i2c_write(buffer, start, end)

    def readfrom_into(
        self, address: int, buffer: Any, *, start: int = 0, end: int | None = None
    ) -> None:
        self.transactions += 1
        self._check_locked()
        end = len(buffer) if end is None else end
        self._deliver(address, write_bits(end - start)).i2c_read(buffer, start, end)

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
        out_end = len(buffer_out) if out_end is None else out_end
        in_end = len(buffer_in) if in_end is None else in_end
        device = self._deliver(address, write_read_bits(out_end - out_start, in_end - in_start))
        device.i2c_write(buffer_out, out_start, out_end)
        device.i2c_read(buffer_in, in_start, in_end)

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

    # --- bus time per engine tick ------------------------------------------------------
    def tick_mark(self) -> None:
        """A tick starts: close the previous tick's window (its transactions and bus time
        go into ``tick_stats``). The first mark after ``reset_ticks`` only opens one."""
        if self._tick_open:
            tx, ns = self._tick_tx, self._tick_ns
            self.ticks += 1
            self.tick_tx_total += tx
            self.tick_ns_total += ns
            if tx > self.tick_tx_max:
                self.tick_tx_max = tx
            if ns > self.tick_ns_max:
                self.tick_ns_max = ns
        self._tick_open = True
        self._tick_tx = 0
        self._tick_ns = 0

    def reset_ticks(self) -> None:
        self._tick_open = False
        self._tick_tx = self._tick_ns = 0
        self.ticks = self.tick_tx_total = self.tick_ns_total = 0
        self.tick_tx_max = self.tick_ns_max = 0

    def tick_stats(self) -> dict[str, Any]:
        """Per closed tick window since ``reset_ticks``: transactions and bus time (us)."""
        n = max(1, self.ticks)
        return {
            "ticks": self.ticks,
            "transactions_worst": self.tick_tx_max,
            "transactions_mean": round(self.tick_tx_total / n, 3),
            "bus_us_worst": round(self.tick_ns_max / 1000, 1),
            "bus_us_mean": round(self.tick_ns_total / n / 1000, 1),
        }

    # --- internals ------------------------------------------------------------------
    def _deliver(self, address: int, bits: int) -> I2CTarget:
        """The device at ``address``, after charging the transfer's bus time (spent
        BEFORE the device sees the bytes: a register changes when its transfer ends). An
        address nobody acknowledges costs START, address byte, STOP and raises."""
        try:
            device = self._target(address)
        except OSError:
            self._charge(NACK_BITS)
            raise
        self._charge(bits if device.responds() else NACK_BITS)
        return device

    def _charge(self, bits: int) -> None:
        ns = self._overhead_ns + round(bits * self._bit_ns)
        self.bus_ns += ns
        self.last_ns = ns
        self._tick_tx += 1
        self._tick_ns += ns
        if self._spend:
            until = time.perf_counter_ns() + ns
            while time.perf_counter_ns() < until:
                pass

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
