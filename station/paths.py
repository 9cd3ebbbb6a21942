"""Where the station keeps its data and finds its config, overridable for development.

Installed on a Pi: config in /etc/station/station.toml, data in /var/lib/station.
Elsewhere: the built-in simulator wiring and a per-user data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DATA_DIR = Path("/var/lib/station")
SYSTEM_CONFIG = Path("/etc/station/station.toml")


def default_data_dir() -> Path:
    env = os.environ.get("STATION_DATA_DIR")
    if env:
        return Path(env)
    if SYSTEM_DATA_DIR.is_dir() and os.access(SYSTEM_DATA_DIR, os.W_OK):
        return SYSTEM_DATA_DIR
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "station"


def default_config() -> Path | None:
    """The wiring/settings file to load, or None for the built-in simulator default."""
    env = os.environ.get("STATION_CONFIG")
    if env:
        return Path(env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def socket_path(data_dir: Path) -> Path:
    """The engine's Unix socket lives in the data directory (one station per folder)."""
    return data_dir / "engine.sock"
