"""One step of an install or uninstall plan, and where an installed station lives.

Why its own module: the plans (``station.install.plan``, ``station.install.venv``,
``station.install.uninstall``) are lists of these ``Action``s over the same layout, and the
runner (``station.install.installer``) only knows ``Action``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from station.install.host import Host

USER = "station"
HARDWARE_GROUPS = ("gpio", "i2c")
VENV = "/opt/station/venv"
CONFIG = "/etc/station/station.toml"
APP_ENV = "/etc/station/app.env"
DATA_DIR = "/var/lib/station"
SECRET_KEY = f"{DATA_DIR}/secret_key"  # read by the app (Flask SECRET_KEY), 0600
UNIT_DIR = "/etc/systemd/system"
UNITS = ("station-engine.service", "station-app.service", "station-stop.service")
WANTS_DIR = f"{UNIT_DIR}/multi-user.target.wants"
DEFAULT_PORT = 8080
STAMP = ".station-source"
# Debian packages the installer itself apt-installed (and so gives back on uninstall).
APT_RECORD = "/opt/station/apt-installed"


@dataclass(kw_only=True)
class Action:
    """One idempotent step: ``needed`` looks, ``apply`` acts (only when needed)."""

    summary: str
    needed: Callable[[Host], bool]
    apply: Callable[[Host], None]
    consent: str | None = None  # an explanation to show and ask about before applying
    changes_boot: bool = False
