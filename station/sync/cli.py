"""``--hub URL --station-id ID`` for ``station run`` and ``station app`` (config.py says
where the credentials live)."""

from __future__ import annotations

import argparse

from station.errors import StationError
from station.sync.config import check_station_id


def add_hub_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hub",
        default=None,
        metavar="URL",
        help="report to a clinic hub's broker, e.g. mqtts://hub.clinic.lan:8883 (credentials: "
        "<data dir>/hub-station.json and hub-ca.crt, from `station hub station add ID`)",
    )
    parser.add_argument(
        "--station-id", default=None, metavar="ID", help="this station's id at the hub"
    )


def hub_args(args: argparse.Namespace) -> list[str]:
    """The flags to hand on to ``station app`` ([] without a hub); both or neither."""
    hub, sid = getattr(args, "hub", None), getattr(args, "station_id", None)
    if hub is None and sid is None:
        return []
    if not hub or not sid:
        raise StationError("--hub and --station-id go together: give both, or neither")
    check_station_id(sid)
    return ["--hub", hub, "--station-id", sid]
