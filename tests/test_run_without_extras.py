"""`./run` installs the station without the hub extra (paho-mqtt, SQLAlchemy, fhir.resources):
the station's own commands must start without them (found on a fresh clone: `./run` died
importing paho for the optional `--hub` sync agent). The test process has every extra, so
a child Python is run with those packages made unimportable (``sys.modules[name] = None``
makes ``import name`` raise ModuleNotFoundError, as when the package is absent)."""

from __future__ import annotations

import subprocess
import sys

HUB_ONLY = ("paho", "sqlalchemy", "psycopg", "fhir", "fhir_core")

CHILD = f"""
import sys
for name in {HUB_ONLY!r}:
    sys.modules[name] = None
import station.commands.run, station.commands.app, station.cli, web
from station.cli import main
sys.argv = ["station", "run", "--help"]
try:
    main()
except SystemExit as exc:
    sys.exit(exc.code or 0)
"""


def test_station_run_starts_without_the_hub_extra() -> None:
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--hub" in r.stdout  # the option is there; only using it needs the extra


def test_asking_for_the_hub_without_the_extra_says_what_to_install(tmp_path) -> None:
    child = f"""
import sys
for name in {HUB_ONLY!r}:
    sys.modules[name] = None
from station.errors import ConfigError
from station.sync import start_sync
try:
    start_sync(
        coordinator=None, hub="mqtt://localhost:1", station_id="s1",
        data_dir=__import__("pathlib").Path({str(tmp_path)!r}),
    )
except ConfigError as exc:
    print(exc)
    sys.exit(3)
"""
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, (r.stdout, r.stderr[-3000:])
    assert "'paho" in r.stdout and "hub extra" in r.stdout
