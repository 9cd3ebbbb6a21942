"""The station's sync agent: publishes the outbox to the clinic broker and applies what the
hub pushes. Runs as its own thread in the app process (``SyncAgent.start``), never in
the engine: the engine's loop knows nothing of it, and the page only shares the database
with it (SQLite WAL, transactions of a few rows).

Delivery (shared/reference/clinic-hub.md, station/hub/messages.py):
- every outbox row is published with QoS 1 on ``clinic/<station>/rec/<kind>``, in ``seq``
  order, and stays until the hub's ``Stored`` names its global id; a row published but not
  stored is published again after a reconnect and after ``resend_after_s`` (the hub stores
  each id once, so a re-send is harmless). A broker's PUBACK is never taken for the hub's.
- the session is persistent (clean start off, session expiry), so ``Stored`` notes and
  pushes sent while the station is away wait at the broker; the outbox covers the rest
  (a broker restart, a queue limit, a station that was off for weeks).
- ``clinic/<station>/status`` is retained ``online`` with a retained last will
  ``offline``.
- order: rows go out in the order they were written; the broker keeps order per topic,
  and the hub needs none across kinds (records name each other by global id).
- pushes (``clinic/<station>/push/protocol|plan``, retained) are applied by
  ``PushApplier`` and answered with a ``PushAck`` through the outbox; a push already
  answered (seen again after a reconnect: it is retained) is not applied twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import ValidationError

from station import __version__
from station.hub import messages as m
from station.hub.broker import Broker, connect, make_client
from station.storage.db import utc_now
from station.storage.outbox_queue import OutboxQueue
from station.storage.store import Store
from station.sync.adherence import queue_adherence
from station.sync.pushes import PushApplier

log = logging.getLogger("station.sync")


class SyncAgent:
    def __init__(
        self,
        *,
        store: Store,
        station_id: str,
        broker: Broker,
        applier: PushApplier,
        batch: int = 200,
        resend_after_s: float = 15.0,
        poll_s: float = 0.25,
        keep_stored_days: int = 7,
    ):
        self.store = store
        self.station_id = station_id
        self.outbox = OutboxQueue(store.db)
        self.applier = applier
        self.batch = batch
        self.resend_after = timedelta(seconds=resend_after_s)
        self.poll_s = poll_s
        self.keep_stored = timedelta(days=keep_stored_days)
        self.connected = threading.Event()
        self._resend_all = threading.Event()
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0
        self.stored = 0
        self.client = make_client(broker=broker, client_id=f"station-{station_id}")
        will = m.Status(station_id=station_id, state="offline", software=__version__[:40])
        self.client.will_set(
            m.status_topic(station_id=station_id), m.encode(will), qos=1, retain=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._broker = broker

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        connect(self.client, broker=self._broker, persistent=True)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="station-sync", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """A clean goodbye: status offline (retained), then disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.connected.is_set():
            bye = m.Status(station_id=self.station_id, state="offline", software=__version__[:40])
            info = self.client.publish(
                m.status_topic(station_id=self.station_id), m.encode(bye), qos=1, retain=True
            )
            info.wait_for_publish(2.0)
        self.client.disconnect()
        self.client.loop_stop()

    # --- paho's network thread: no database work here -------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("the clinic broker refused station %s: %s", self.station_id, rc)
            return
        sid = self.station_id
        client.subscribe(
            [
                (m.stored_topic(station_id=sid), SubscribeOptions(qos=1)),
                (m.push_topic(station_id=sid, kind="#"), SubscribeOptions(qos=1)),
            ]
        )
        online = m.Status(station_id=sid, state="online", software=__version__[:40])
        client.publish(m.status_topic(station_id=sid), m.encode(online), qos=1, retain=True)
        self._resend_all.set()  # what was in flight when the link dropped goes again
        self.connected.set()
        log.info("station %s connected to the clinic broker", sid)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("clinic broker link lost (%s); reconnecting", rc)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put((msg.topic, bytes(msg.payload)))

    # --- the agent's thread ---------------------------------------------------------------
    def _run(self) -> None:
        next_daily = 0.0
        while not self._stop.is_set():
            try:
                self._handle_inbox()
                if self.connected.is_set():
                    self._publish_due()
                if time.monotonic() >= next_daily:
                    next_daily = time.monotonic() + 3600
                    queue_adherence(self.store, self.outbox)
                    self.outbox.prune(stored_before=utc_now() - self.keep_stored)
            except Exception:  # the agent must outlive a bad moment (a busy database...)
                log.exception("sync agent")
                self._stop.wait(2.0)
            self._stop.wait(self.poll_s)

    def _handle_inbox(self) -> None:
        while True:
            try:
                topic, payload = self._inbox.get_nowait()
            except queue.Empty:
                return
            if topic.endswith("/stored"):
                try:
                    note = m.Stored.model_validate_json(payload)
                except ValidationError as exc:
                    log.warning("a malformed Stored note: %s", str(exc)[:200])
                    continue
                self.stored += self.outbox.mark_stored([str(i) for i in note.ids])
            elif "/push/" in topic and payload:  # empty: a retained push cleared
                self._push(topic.rsplit("/", 1)[1], payload)

    def _push(self, kind: str, payload: bytes) -> None:
        model: type[m.ProtocolPush] | type[m.PlanPush]
        model = m.ProtocolPush if kind == "protocol" else m.PlanPush
        try:
            push = model.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("a push on %s the contract refuses: %s", kind, str(exc)[:300])
            return  # without a valid id there is nothing to answer
        if push.station_id != self.station_id:
            log.warning("a push for station %s came on ours; ignored", push.station_id)
            return
        key = f"ack:{push.id}"
        if self.outbox.has_key(key):
            return  # answered already (a retained push seen again after a reconnect)
        answer = self.applier.apply(push)
        log.info("push %s (%s): %s %s", push.id, kind, answer.outcome, answer.reason[:200])
        self.outbox.add(
            kind="ack",
            payload={
                "at": self.store.now().isoformat(),
                "push_id": str(push.id),
                "push_kind": push.kind,
                "outcome": answer.outcome,
                "reason": answer.reason,
            },
            dedupe_key=key,
        )

    def _publish_due(self) -> None:
        now = utc_now()  # the wall clock (the outbox's transport times), never a sim clock
        if self._resend_all.is_set():
            self._resend_all.clear()
            cutoff = now  # everything published before this reconnect and not yet stored
        else:
            cutoff = now - self.resend_after
        while not self._stop.is_set() and self.connected.is_set():
            rows = self.outbox.due(limit=self.batch, resend_before=cutoff)
            if not rows:
                return
            sent: list[int] = []
            for row in rows:
                try:
                    rec = m.RECORD.validate_python(
                        {**json.loads(row.payload), "station_id": self.station_id}
                    )
                except (ValidationError, ValueError) as exc:
                    log.error("outbox row %s (%s) breaks the contract: %s", row.seq, row.kind,
                              str(exc)[:300])  # fmt: skip
                    self.outbox.mark_error(row.seq, str(exc))
                    continue
                info = self.client.publish(
                    m.record_topic(station_id=self.station_id, kind=rec.kind),
                    m.encode(rec),
                    qos=1,
                )
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # the link dropped: the rest waits for the reconnect
                sent.append(row.seq)
            self.outbox.mark_published(sent)
            self.published += len(sent)
            if len(sent) < len(rows):
                return
