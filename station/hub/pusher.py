"""Pushing a protocol or a plan to a station: recorded at the hub, then published retained
(QoS 1) on the station's push topic, so a station that is offline gets it when it comes
back. The station answers with a ``PushAck`` record, which ingest files against the push.
"""

from __future__ import annotations

import os
import threading

from station.errors import StationError
from station.hub import messages as m
from station.hub.broker import Broker, connect, make_client
from station.hub.store import HubStore


class Pusher:
    def __init__(self, *, broker: Broker, store: HubStore):
        self.store = store
        self.client = make_client(broker=broker, client_id=f"hub-web-{os.getpid()}")
        self.ready = threading.Event()
        self.client.on_connect = lambda *_a: self.ready.set()
        connect(self.client, broker=broker, persistent=False)
        self.client.loop_start()

    def push(self, *, push: m.ProtocolPush | m.PlanPush, by: str, timeout: float = 10.0) -> None:
        if not self.ready.wait(timeout):
            raise StationError("the broker is not reachable; the push was not sent")
        self.store.add_push(push=push, by=by)
        info = self.client.publish(
            m.push_topic(station_id=push.station_id, kind=push.kind),
            m.encode(push),
            qos=1,
            retain=True,
        )
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise StationError("the broker did not confirm the push in time; it stays pending")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
