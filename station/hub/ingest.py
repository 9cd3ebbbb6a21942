"""A hub ingest worker: MQTT 5 shared subscription in, one committed transaction per batch,
then the acknowledgements.

Order of events for each batch, which is what makes delivery exactly-once at the hub:

1. paho's network thread receives QoS 1 PUBLISHes (``manual_ack=True``: paho sends no
   PUBACK by itself) and queues them;
2. the writer thread takes up to ``batch_max`` of them, validates each against
   ``messages.py`` (an invalid one is recorded in ``rejects`` and acknowledged, so that it
   is not redelivered forever), and stores the batch in ONE transaction of
   INSERT ... ON CONFLICT DO NOTHING;
3. only after the commit: PUBACK for each message (``client.ack``), and a ``Stored`` message
   to each station naming the ids, so the station may drop them from its outbox.

A worker killed between 1 and 3 leaves the messages un-PUBACKed: the broker keeps them in
the worker's persistent session (clean start off, session expiry) and sends them again
when it reconnects, or they were committed already and the duplicate is skipped. PUBACKs
for messages received on an earlier connection are not sent (the broker re-sends those
with the same packet ids on the new one, and they are acknowledged then).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import ValidationError

from station.hub import messages as m
from station.hub.broker import Broker, connect, make_client, parse_broker
from station.hub.store import HubStore

log = logging.getLogger("station.hub.ingest")
RECEIVE_MAXIMUM = 2000  # QoS 1 messages the broker may have in flight to one worker


@dataclass
class _Item:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


class IngestWorker:
    def __init__(
        self,
        *,
        broker: Broker,
        store: HubStore,
        client_id: str,
        group: str = "hub",
        statuses: bool = True,
        batch_max: int = 1000,
        linger_s: float = 0.02,
    ):
        self.broker = broker
        self.store = store
        self.client_id = client_id
        self.group = group
        self.statuses = statuses
        self.batch_max = batch_max
        self.linger_s = linger_s
        self.generation = 0
        self.connected = threading.Event()
        self.inbox: queue.Queue[_Item] = queue.Queue()
        self.stored = 0
        self.received = 0
        self.rejected = 0
        self.client = make_client(broker=broker, client_id=client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # --- paho's network thread ----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the hub worker %s: %s", self.client_id, rc)
            return
        self.generation += 1
        shared, status = m.hub_subscriptions(group=self.group)
        subs = [(shared, SubscribeOptions(qos=1))]
        if self.statuses:
            subs.append((status, SubscribeOptions(qos=1)))
        client.subscribe(subs)
        self.connected.set()
        log.info("hub worker %s connected (session present: %s)", self.client_id, _f)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("hub worker %s disconnected (%s); reconnecting", self.client_id, rc)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(_Item(self.generation, msg.mid, msg.qos, msg.topic, bytes(msg.payload)))

    # --- the writer thread ---------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        connect(self.client, broker=self.broker, persistent=True, receive_maximum=RECEIVE_MAXIMUM)
        self.client.loop_start()
        try:
            while not stop.is_set():
                batch = self._take()
                if batch:
                    self._process(batch, stop=stop)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def _take(self) -> list[_Item]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.linger_s
        while len(batch) < self.batch_max:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[_Item], *, stop: threading.Event) -> None:
        records: list[m.Record] = []
        statuses: list[m.Status] = []
        for item in batch:
            try:
                if item.topic.endswith("/status"):
                    if item.payload:  # an empty retained payload clears; nothing to store
                        statuses.append(m.parse_status(topic=item.topic, payload=item.payload))
                else:
                    records.append(m.parse_record(topic=item.topic, payload=item.payload))
            except (ValidationError, ValueError) as exc:
                self.rejected += 1
                log.warning("rejected a message on %s: %s", item.topic, str(exc)[:300])
                self._retry(
                    stop,
                    lambda e=exc, i=item: self.store.reject(  # type: ignore[misc]
                        topic=i.topic, error=str(e), payload=i.payload
                    ),
                )
        result = self._retry(stop, lambda: self.store.ingest(batch=records, statuses=statuses))
        if result is None:  # stopping before the database came back: nothing acked
            return
        self.stored += result.stored
        self.received += result.received
        for item in batch:
            if item.qos > 0 and item.generation == self.generation:
                self.client.ack(item.mid, item.qos)
        by_station: dict[str, list[Any]] = defaultdict(list)
        for rec in records:
            by_station[rec.station_id].append(rec.id)
        for station_id, ids in by_station.items():
            for start in range(0, len(ids), 5000):
                note = m.Stored(station_id=station_id, ids=ids[start : start + 5000])
                self.client.publish(m.stored_topic(station_id=station_id), m.encode(note), qos=1)

    def _retry(self, stop: threading.Event, action: Any) -> Any:
        """Run a database action until it succeeds (a database that is away is waited
        for, never skipped: the messages stay un-acknowledged meanwhile)."""
        delay = 0.2
        while True:
            try:
                return action()
            except Exception as exc:  # OperationalError and friends: wait and retry
                log.error("hub database error (%s); retrying in %.1f s", exc, delay)
                if stop.wait(delay):
                    return None
                delay = min(delay * 2, 5.0)


def worker_main(
    *,
    broker_url: str,
    data_dir: str,
    database: str | None,
    index: int,
    name: str = "hub",
    parent: int | None = None,
) -> None:
    """One worker process (``station hub run`` starts ``--workers N`` of these): ends on
    SIGTERM/SIGINT or when its parent is gone."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    broker = parse_broker(broker_url, data_dir=Path(data_dir))
    store = HubStore.open(database=database, data_dir=Path(data_dir))
    worker = IngestWorker(
        broker=broker,
        store=store,
        client_id=f"{name}-{index}",
        group=name,
        statuses=index == 0,
    )
    if parent is not None:

        def _watch() -> None:
            while not stop.wait(1.0):
                if os.getppid() != parent:
                    stop.set()

        threading.Thread(target=_watch, daemon=True).start()
    try:
        worker.run(stop)
    finally:
        store.close()
