"""A TCA9548A channel that selects itself only when the selection changes.

Why not ``adafruit_tca9548a.TCA9548A_Channel``: it writes the channel byte before and
0x00 after EVERY access, three transactions (~170 us at 400 kHz plus three ioctls) per
register write. At 1 kHz with several drivers that is most of the bus. Here one
``MuxState`` per multiplexer remembers the selected channel mask; a channel writes the
select byte only when another channel (or nothing known) is selected, so a stream of RTP
updates to one driver costs one transaction each.

Any failed transaction forgets the selection (``MuxState.invalidate``): after an error
we cannot know what the mux latched, so the next access selects again.

The selection is changed only while holding the bus lock (``adafruit_bus_device``
takes it around every transfer), so the cached state matches the chip as long as every
user of this mux goes through the same ``MuxState``. All calls must come from one thread
(see ``hardware.haptics``).
"""

from __future__ import annotations

from typing import Any

DEFAULT_ADDRESS = 0x70
CHANNELS = 8


class MuxState:
    """The one piece of shared state per multiplexer: which channel mask it holds now."""

    def __init__(self, *, bus: Any, address: int = DEFAULT_ADDRESS) -> None:
        if not 0x70 <= address <= 0x77:
            raise ValueError(f"TCA9548A address 0x{address:02x} must be 0x70..0x77")
        self.bus = bus
        self.address = address
        self.selected: int | None = None  # mask the chip holds, None = unknown
        self._channels: dict[int, CachedMuxChannel] = {}

    def channel(self, channel: int) -> CachedMuxChannel:
        """The (shared) bus-like object for one downstream channel."""
        if channel not in self._channels:
            self._channels[channel] = CachedMuxChannel(state=self, channel=channel)
        return self._channels[channel]

    def invalidate(self) -> None:
        self.selected = None

    def deselect_all(self) -> None:
        """Write 0x00 (every channel off); used when closing. Raises OSError on failure."""
        while not self.bus.try_lock():
            pass
        try:
            self.bus.writeto(self.address, b"\x00")
            self.selected = 0
        except OSError:
            self.selected = None
            raise
        finally:
            self.bus.unlock()


class CachedMuxChannel:
    """A ``busio.I2C`` look-alike for one channel; pass it wherever a bus is expected
    (``adafruit_drv2605.DRV2605(channel)``, ``I2CDevice(channel, 0x5A)``)."""

    def __init__(self, *, state: MuxState, channel: int) -> None:
        if not 0 <= channel < CHANNELS:
            raise ValueError(f"TCA9548A channel {channel} must be 0..{CHANNELS - 1}")
        self.state = state
        self.channel = channel
        self.mask = 1 << channel
        self._select_byte = bytes((self.mask,))

    def try_lock(self) -> bool:
        return self.state.bus.try_lock()

    def unlock(self) -> None:
        self.state.bus.unlock()

    def writeto(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        self._check(address)
        state = self.state
        if state.selected != self.mask:
            self._select()
        try:
            state.bus.writeto(address, buffer, start=start, end=end)
        except OSError:
            state.selected = None
            raise

    def readfrom_into(
        self, address: int, buffer: Any, *, start: int = 0, end: int | None = None
    ) -> None:
        self._check(address)
        state = self.state
        if state.selected != self.mask:
            self._select()
        try:
            state.bus.readfrom_into(address, buffer, start=start, end=end)
        except OSError:
            state.selected = None
            raise

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
        self._check(address)
        state = self.state
        if state.selected != self.mask:
            self._select()
        try:
            state.bus.writeto_then_readfrom(
                address,
                buffer_out,
                buffer_in,
                out_start=out_start,
                out_end=out_end,
                in_start=in_start,
                in_end=in_end,
            )
        except OSError:
            state.selected = None
            raise

    def scan(self) -> list[int]:
        """Addresses answering on this channel (the mux's own address excluded).
        Needs the bus lock, like ``busio.I2C.scan``."""
        self._select()
        return [a for a in self.state.bus.scan() if a != self.state.address]

    def probe(self, address: int) -> bool:
        return address in self.scan()

    def deinit(self) -> None:
        """The bus belongs to whoever opened it; a channel has nothing to release."""

    def __repr__(self) -> str:
        return f"CachedMuxChannel(0x{self.state.address:02x}, channel={self.channel})"

    def _check(self, address: int) -> None:
        if address == self.state.address:
            raise ValueError(
                f"address 0x{address:02x} is the multiplexer itself; "
                "a device behind it needs another address"
            )

    def _select(self) -> None:
        state = self.state
        try:
            state.bus.writeto(state.address, self._select_byte)
        except OSError:
            state.selected = None
            raise
        state.selected = self.mask
