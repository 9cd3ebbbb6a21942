"""``station hub init`` and ``station hub station add``: the Mosquitto broker's config for a
clinic, written into ``<data dir>/mosquitto/``.

- TLS only, with the clinic's own CA (tlsca.py); clients verify the broker with ``ca.crt``.
- One credential per station (user name = station id) in a ``mosquitto_passwd`` file made
  with Mosquitto's own ``mosquitto_passwd`` tool (Debian package ``mosquitto``), and the
  hub's separate credential (user ``hub``).
- An ACL: a station may publish only ``clinic/<its id>/rec/#`` and its status, and read
  only its own pushes and ``stored`` notes (``pattern ... %u``); the hub reads every
  station's records and status and writes pushes and ``stored``.
- Persistence on, and a queue deep enough for a hub worker away for a while (the default
  ``max_queued_messages`` of 1000 would drop records: shared/reference/clinic-hub.md).

On a clinic server: ``station hub init --data-dir /var/lib/station-hub --hostname
hub.clinic.lan``, then run ``mosquitto -c /var/lib/station-hub/mosquitto/mosquitto.conf``
(or point the Debian unit's /etc/mosquitto/conf.d at it); after ``station hub station add``
send the broker SIGHUP to reload the password file. Each station gets
``stations/<id>.json`` (its user name and password) and ``tls/ca.crt``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from station.errors import StationError
from station.hub import tlsca
from station.hub.broker import HUB_CREDENTIALS
from station.hub.messages import STATION_ID

HUB_USER = "hub"
RESERVED = {HUB_USER, "admin", "root"}


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def conf_dir(self) -> Path:
        return self.data_dir / "mosquitto"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def conf(self) -> Path:
        return self.conf_dir / "mosquitto.conf"

    @property
    def passwd(self) -> Path:
        return self.conf_dir / "passwd"

    @property
    def acl(self) -> Path:
        return self.conf_dir / "acl"

    @property
    def stations_dir(self) -> Path:
        return self.data_dir / "stations"


ACL = """\
# Written by `station hub init`. A station's user name is its station id.
user {hub}
topic read clinic/+/rec/#
topic read clinic/+/status
topic write clinic/+/push/#
topic write clinic/+/stored

# every other user (a station): only its own subtree
pattern write clinic/%u/rec/#
pattern readwrite clinic/%u/status
pattern read clinic/%u/push/#
pattern read clinic/%u/stored
"""


def mosquitto_conf(*, layout: Layout, bind: str, port: int, run_as: str) -> str:
    tls = layout.tls_dir
    return f"""\
# Written by `station hub init`; the clinic's broker. mosquitto -c {layout.conf}
user {run_as}
per_listener_settings false
allow_anonymous false
password_file {layout.passwd}
acl_file {layout.acl}
persistence true
persistence_location {layout.conf_dir}/
autosave_interval 10
# a hub worker that is away keeps its records queued (the 1000 default would drop them)
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 2000
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages false

listener {port} {bind}
protocol mqtt
cafile {tls}/ca.crt
certfile {tls}/server.crt
keyfile {tls}/server.key
tls_version tlsv1.2
"""


def _passwd_tool() -> str:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise StationError(
            "mosquitto_passwd not found: install the broker (sudo apt-get install mosquitto)"
        )
    return tool


def set_password(*, layout: Layout, user: str, password: str) -> None:
    """Add or replace ``user`` in the password file with Mosquitto's own tool."""
    args = [_passwd_tool(), "-b", str(layout.passwd), user, password]
    if not layout.passwd.exists():
        args.insert(1, "-c")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StationError(f"mosquitto_passwd failed: {done.stderr.strip() or done.stdout}")
    os.chmod(layout.passwd, 0o600)


def _write_secret(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def init(
    *,
    data_dir: Path,
    hostnames: list[str] | None = None,
    bind: str = "0.0.0.0",
    port: int = 8883,
    run_as: str | None = None,
) -> Layout:
    """Write (or refresh) the broker's config, CA, server certificate, ACL and the hub's
    credential. Idempotent: the CA and existing passwords are kept."""
    layout = Layout(Path(data_dir))
    layout.conf_dir.mkdir(parents=True, exist_ok=True)
    names = hostnames or ["localhost", "127.0.0.1", socket.getfqdn()]
    tlsca.make_ca(tls_dir=layout.tls_dir)
    tlsca.make_server_cert(tls_dir=layout.tls_dir, hostnames=list(dict.fromkeys(names)))
    layout.acl.write_text(ACL.format(hub=HUB_USER))
    creds = layout.data_dir / HUB_CREDENTIALS
    if not creds.exists():
        password = secrets.token_urlsafe(24)
        set_password(layout=layout, user=HUB_USER, password=password)
        _write_secret(creds, {"username": HUB_USER, "password": password})
    if run_as is None:
        run_as = "mosquitto" if os.geteuid() == 0 else _current_user()
    layout.conf.write_text(mosquitto_conf(layout=layout, bind=bind, port=port, run_as=run_as))
    _hand_to(layout=layout, user=run_as)
    return layout


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _hand_to(*, layout: Layout, user: str) -> None:
    """The broker drops root for ``user``: it must read its files and write persistence."""
    if os.geteuid() != 0 or user == "root":
        return
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise StationError(f"--run-as {user!r}: no such system user") from None
    for path in (layout.conf_dir, layout.passwd, layout.acl, layout.tls_dir / "server.key"):
        if path.exists():
            os.chown(path, entry.pw_uid, entry.pw_gid)


def add_station(*, data_dir: Path, station_id: str) -> Path:
    """A new station credential; returns the file to hand to the station (0600)."""
    if not re.match(STATION_ID, station_id) or station_id.lower() in RESERVED:
        raise StationError(
            f"station id {station_id!r}: use 1-64 letters, digits, '-' or '_' (not "
            f"{', '.join(sorted(RESERVED))}); never a patient's name"
        )
    layout = Layout(Path(data_dir))
    if not layout.conf.exists():
        raise StationError(f"{layout.conf} is missing: run `station hub init` first")
    target = layout.stations_dir / f"{station_id}.json"
    if target.exists():
        raise StationError(f"station {station_id!r} already has a credential ({target})")
    password = secrets.token_urlsafe(24)
    set_password(layout=layout, user=station_id, password=password)
    _write_secret(
        target,
        {
            "station_id": station_id,
            "username": station_id,
            "password": password,
            "ca_file": str(layout.tls_dir / "ca.crt"),
        },
    )
    return target
