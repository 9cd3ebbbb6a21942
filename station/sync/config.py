"""Where the sync agent finds the clinic broker and its credentials.

``station run --hub mqtts://hub.clinic.lan:8883 --station-id ward-3`` (or ``station app``
with the same flags). The credentials are the file ``station hub station add ID`` writes
on the hub (``stations/<id>.json``: user name = station id, password), copied to the
station's data directory as ``hub-station.json`` (mode 0600, owned by the station's user);
the clinic's CA certificate goes beside it as ``hub-ca.crt`` (``mqtts`` verifies the broker
against it; without it, against the system's CAs). Credentials in the URL
(``mqtts://ward-3:PASSWORD@host``) win, but end up in process listings: prefer the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from station.errors import StationError
from station.hub.broker import Broker, parse_broker
from station.hub.messages import STATION_ID

CREDENTIALS = "hub-station.json"
CA_FILE = "hub-ca.crt"


def check_station_id(station_id: str) -> str:
    if not isinstance(station_id, str) or not re.match(STATION_ID, station_id):
        raise StationError(
            f"--station-id {station_id!r}: use 1-64 letters, digits, '-' or '_' (the id the "
            "hub gave this station; never a patient's name: brokers log it)"
        )
    return station_id


def station_broker(*, url: str, data_dir: Path, station_id: str) -> Broker:
    """The broker at ``url`` with this station's credentials and the clinic's CA."""
    check_station_id(station_id)
    try:
        broker = parse_broker(url)  # never the hub's own credentials
    except ValueError as exc:
        raise StationError(str(exc).replace("--broker", "--hub")) from None
    data_dir = Path(data_dir)
    username, password = broker.username, broker.password
    creds = data_dir / CREDENTIALS
    ca = data_dir / CA_FILE
    if username is None and creds.exists():
        try:
            saved = json.loads(creds.read_text())
            username, password = str(saved["username"]), str(saved["password"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StationError(
                f"{creds}: not a station credential file ({exc}); copy the file "
                f"`station hub station add {station_id}` wrote on the hub"
            ) from None
        if not ca.exists() and saved.get("ca_file") and Path(saved["ca_file"]).exists():
            ca = Path(saved["ca_file"])
    if username is None:
        raise StationError(
            f"no credentials for the clinic broker: copy the hub's stations/{station_id}.json "
            f"to {creds} (or give them in --hub)"
        )
    if username != station_id:
        raise StationError(
            f"{creds}: the credential is for station {username!r}, not {station_id!r}; the "
            "broker lets a station write only under its own id"
        )
    return Broker(
        host=broker.host,
        port=broker.port,
        tls=broker.tls,
        username=username,
        password=password,
        ca_file=ca if broker.tls and ca.exists() else None,
    )
