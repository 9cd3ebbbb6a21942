"""Connecting to the clinic's broker: ``mqtt://`` or ``mqtts://`` URLs, credentials and the
clinic CA, one paho-mqtt 2.x client (MQTT 5) for the hub and the simulated stations alike.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # paho-mqtt is the hub extra's: a station without a hub needs no MQTT
    import paho.mqtt.client as mqtt
    from paho.mqtt.properties import Properties

HUB_CREDENTIALS = "hub-credentials.json"  # written by `station hub init`, 0600
CA_FILE = "tls/ca.crt"
SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps a worker's queue this long while away


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    def with_credentials(self, *, username: str, password: str) -> Broker:
        return Broker(
            host=self.host,
            port=self.port,
            tls=self.tls,
            username=username,
            password=password,
            ca_file=self.ca_file,
        )


def parse_broker(url: str, *, data_dir: Path | None = None) -> Broker:
    """``mqtt[s]://[user:pass@]host[:port]``. Without credentials in the URL the hub's own
    (``<data dir>/hub-credentials.json``) are used when present; ``mqtts`` verifies the
    broker against ``<data dir>/tls/ca.crt`` when present, else the system's CAs."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(
            f"--broker {url!r}: use mqtt://HOST[:PORT] or mqtts://HOST[:PORT] "
            "(e.g. mqtts://hub.clinic.lan:8883)"
        )
    tls = parts.scheme == "mqtts"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    ca = None
    if data_dir is not None:
        creds = Path(data_dir) / HUB_CREDENTIALS
        if user is None and creds.exists():
            saved = json.loads(creds.read_text())
            user, password = saved["username"], saved["password"]
        if tls and (Path(data_dir) / CA_FILE).exists():
            ca = Path(data_dir) / CA_FILE
    return Broker(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=user,
        password=password,
        ca_file=ca,
    )


def make_client(
    *,
    broker: Broker,
    client_id: str,
    manual_ack: bool = False,
) -> mqtt.Client:
    """An MQTT 5 client, not yet connected (call ``connect_async`` or ``connect``)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        ctx = ssl.create_default_context(cafile=str(broker.ca_file) if broker.ca_file else None)
        client.tls_set_context(ctx)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    return client


def connect_properties(*, persistent: bool, receive_maximum: int | None = None) -> Properties:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def connect(
    client: mqtt.Client,
    *,
    broker: Broker,
    persistent: bool = True,
    receive_maximum: int | None = None,
    asynchronous: bool = True,
) -> None:
    """Connect with MQTT 5 clean start off when ``persistent`` (the broker keeps the
    session and the QoS 1 messages queued for it while the client is away)."""
    kwargs: dict[str, Any] = {
        "host": broker.host,
        "port": broker.port,
        "keepalive": 15,
        "clean_start": not persistent,
        "properties": connect_properties(persistent=persistent, receive_maximum=receive_maximum),
    }
    if asynchronous:
        client.connect_async(**kwargs)
    else:
        client.connect(**kwargs)
