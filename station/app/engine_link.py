"""The app's line to the engine: calls and the event stream over the engine's Unix socket.

Why a wrapper around the engine's own IPC client: the app needs two connections (one for
commands from any web thread, serialised by a lock; one that only reads the event
stream) and one error type for "the engine is not there", so that the web layer can
answer 503 and the coordinator can reconnect, whatever the socket did.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from station.errors import StationError
from station.paths import socket_path

CALL_TIMEOUT_S = 3.0
EVENT_POLL_S = 0.5
# Auto-calibration takes ~1.1 s in the engine, which gives up on its own after 4 s
# (station.engine.calibrate.CALIBRATE_BUDGET_S); the app waits a little longer.
CALIBRATE_TIMEOUT_S = 10.0


class EngineUnavailable(StationError):
    """The engine's socket does not answer (not started, restarting, crashed)."""


class EngineRefused(StationError):
    """The engine answered with an error (e.g. start with nothing armed, a program it
    cannot play); ``code`` is the engine's (``busy``, ``estop``, ``internal``, ...) and the
    text is the engine's own message."""

    def __init__(self, method: str, code: str, message: str):
        self.method = method
        self.code = code
        super().__init__(message)


def _refused(method: str, exc: StationError) -> EngineRefused:
    return EngineRefused(method, str(getattr(exc, "code", "") or "refused"), str(exc))


class EngineLink:
    def __init__(self, *, data_dir: Path, timeout: float = CALL_TIMEOUT_S):
        self.path = socket_path(Path(data_dir))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._client: Any = None
        self._events_client: Any = None
        self._closed = False

    def _connect(self, timeout: float) -> Any:
        from station.engine.ipc import EngineClient

        try:
            return EngineClient(self.path, timeout=timeout)
        except (OSError, StationError) as exc:
            raise EngineUnavailable(f"engine socket {self.path}: {exc}") from None

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """One request/response; reconnects once if the engine restarted meanwhile.
        ``EngineUnavailable`` when it does not answer, ``EngineRefused`` when it says no."""
        with self._lock:
            for attempt in (1, 2):
                if self._client is None:
                    self._client = self._connect(timeout or self.timeout)
                try:
                    return self._client.call(method, params or {})
                except (OSError, EOFError, ConnectionError) as exc:
                    self._drop()
                    if attempt == 2:
                        raise EngineUnavailable(f"engine {method}: {exc}") from None
                except StationError as exc:
                    code = getattr(exc, "code", "")
                    if code in ("unavailable", "disconnected") or isinstance(
                        exc, EngineUnavailable
                    ):
                        self._drop()
                        if attempt == 2:
                            raise EngineUnavailable(f"engine {method}: {exc}") from None
                        continue
                    raise _refused(method, exc) from None
        raise EngineUnavailable(f"engine {method}: no answer")

    def call_alone(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float
    ) -> Any:
        """One request on a connection of its own, for a long call (auto-calibration):
        the shared connection stays free meanwhile, so a stop from the page goes
        through at once instead of queueing behind it."""
        client = self._connect(timeout)
        try:
            return client.call(method, params or {})
        except (OSError, EOFError, ConnectionError) as exc:
            raise EngineUnavailable(f"engine {method}: {exc}") from None
        except StationError as exc:
            if getattr(exc, "code", "") in ("unavailable", "disconnected"):
                raise EngineUnavailable(f"engine {method}: {exc}") from None
            raise _refused(method, exc) from None
        finally:
            with contextlib.suppress(Exception):
                client.close()

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def events(
        self, *, stop: threading.Event, idle: Callable[[], None], since: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield engine events until ``stop`` is set or the connection drops (then
        ``EngineUnavailable``); ``idle`` runs whenever no event came for a while."""
        client = self._connect(self.timeout)
        self._events_client = client
        try:
            for event in client.subscribe(poll=EVENT_POLL_S, since=since):
                if stop.is_set() or self._closed:
                    return
                if event is None:
                    idle()
                    continue
                yield event
        except (OSError, EOFError, ConnectionError) as exc:
            raise EngineUnavailable(f"engine event stream: {exc}") from None
        finally:
            self._events_client = None
            with contextlib.suppress(Exception):
                client.close()
        if not stop.is_set():
            raise EngineUnavailable("engine event stream ended")

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._drop()
        ev = self._events_client
        if ev is not None:
            with contextlib.suppress(Exception):
                ev.close()
