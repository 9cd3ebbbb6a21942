"""A lightweight simulated station for tests and ``station hub bench``: publishes realistic
records (sessions with their steps, ratings, progression decisions, adherence, journal
entries, the odd fault) for its patients, day by day in accelerated time, through the same
contract (messages.py) and delivery rules as the real sync agent: every record stays in
the outbox until the hub's ``Stored`` names it, and is re-sent after a reconnect or when
``resend`` finds it unacknowledged. It applies pushes the way a station does: a protocol
through the station's own protocol validation, a plan only for a protocol it knows; each
answered with a ``PushAck`` (refusals carry the reason).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import ValidationError

from station.hub import messages as m
from station.hub.broker import Broker, connect, make_client

BUILTIN_PROTOCOLS = {"tapping", "vibration-ladder", "ct-brushing", "textures", "distant-site"}
EPOCH = datetime(2025, 1, 6, tzinfo=UTC)


class SimStation:
    def __init__(
        self,
        *,
        station_id: str,
        broker: Broker,
        patients: int = 1,
        seed: int = 0,
        start: datetime = EPOCH,
    ):
        self.station_id = station_id
        self.broker = broker
        self.rng = random.Random(f"{station_id}:{seed}")
        self.patients = [
            uuid.UUID(int=self.rng.getrandbits(128), version=4) for _ in range(patients)
        ]
        self.level = dict.fromkeys(self.patients, 1)
        self.start = start
        self.local_id = 0
        self.protocols = set(BUILTIN_PROTOCOLS)
        self.lock = threading.Lock()
        self.outbox: dict[uuid.UUID, tuple[str, bytes, float]] = {}
        self.first_sent: dict[uuid.UUID, float] = {}
        self.acked: set[uuid.UUID] = set()
        self.applied: list[m.PushAck] = []
        self.connected = threading.Event()
        self.client = make_client(broker=broker, client_id=f"station-{station_id}")
        will = m.Status(station_id=station_id, state="offline")
        self.client.will_set(
            m.status_topic(station_id=station_id), m.encode(will), qos=1, retain=True
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_a: self.connected.clear()
        self.client.on_message = self._on_message

    # --- connection ---------------------------------------------------------------------
    def start_client(self) -> None:
        connect(self.client, broker=self.broker, persistent=True)
        self.client.loop_start()

    def stop_client(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            return
        sid = self.station_id
        client.subscribe(
            [
                (m.stored_topic(station_id=sid), SubscribeOptions(qos=1)),
                (f"clinic/{sid}/push/#", SubscribeOptions(qos=1)),
            ]
        )
        online = m.Status(station_id=sid, state="online", software="simstation")
        client.publish(m.status_topic(station_id=sid), m.encode(online), qos=1, retain=True)
        self.connected.set()
        self.resend(older_than_s=0.0)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/stored"):
            note = m.Stored.model_validate_json(msg.payload)
            with self.lock:
                for rid in note.ids:
                    self.outbox.pop(rid, None)
                    self.acked.add(rid)
        elif "/push/" in msg.topic and msg.payload:
            self._apply_push(msg.topic.rsplit("/", 1)[1], bytes(msg.payload))

    # --- pushes -------------------------------------------------------------------------
    def _apply_push(self, kind: str, payload: bytes) -> None:
        try:
            push: m.ProtocolPush | m.PlanPush = (
                m.ProtocolPush.model_validate_json(payload)
                if kind == "protocol"
                else m.PlanPush.model_validate_json(payload)
            )
        except ValidationError:
            return None  # no push id to answer to: the hub only sends valid pushes
        if any(a.push_id == push.id for a in self.applied):
            return None  # a retained push seen again after a reconnect
        reason = ""
        if isinstance(push, m.ProtocolPush):
            from station.errors import ConfigError
            from station.protocols.load import load_text

            try:
                protocol = load_text(push.document, fmt="toml", source=f"push {push.id}")
                if protocol.id != push.protocol_id:
                    reason = f"the document's id is {protocol.id!r}, not {push.protocol_id!r}"
            except ConfigError as exc:
                reason = str(exc)
            if not reason:
                self.protocols.add(push.protocol_id)
        elif push.protocol_id not in self.protocols:
            reason = f"protocol {push.protocol_id!r} is not in this station's library"
        elif push.patient_id not in self.patients:
            reason = "no such patient on this station"
        ack = m.PushAck(
            station_id=self.station_id,
            push_id=push.id,
            push_kind=push.kind,
            outcome="refused" if reason else "applied",
            reason=reason,
        )
        self.applied.append(ack)
        self.record(ack)
        return None

    # --- records ------------------------------------------------------------------------
    def record(self, rec: m.Record) -> None:
        """Into the outbox, then published (QoS 1); stays until the hub's Stored."""
        topic = m.record_topic(station_id=self.station_id, kind=rec.kind)
        payload = m.encode(rec)
        now = time.time()
        with self.lock:
            self.outbox[rec.id] = (topic, payload, now)
            self.first_sent.setdefault(rec.id, now)
        self.client.publish(topic, payload, qos=1)

    def resend(self, *, older_than_s: float = 5.0) -> int:
        now = time.time()
        with self.lock:
            due = [(rid, e) for rid, e in self.outbox.items() if now - e[2] >= older_than_s]
            for rid, (topic, payload, _t) in due:
                self.outbox[rid] = (topic, payload, now)
        for _rid, (topic, payload, _t) in due:
            self.client.publish(topic, payload, qos=1)
        return len(due)

    def pending(self) -> int:
        with self.lock:
            return len(self.outbox)

    def day(self, index: int) -> list[m.Record]:
        """One simulated day of records for every patient (not yet published)."""
        out: list[m.Record] = []
        day_start = self.start + timedelta(days=index)
        for patient in self.patients:
            prescribed = 2
            done = self.rng.choice((0, 1, 2, 2, 2)) if self.rng.random() < 0.9 else 0
            for n in range(done):
                out += self._session(patient, day_start + timedelta(hours=9 + 8 * n))
            out.append(
                m.AdherenceRecord(
                    station_id=self.station_id,
                    patient_id=patient,
                    at=day_start + timedelta(hours=23),
                    day=day_start.date(),
                    done=done,
                    prescribed=prescribed,
                )
            )
        if self.rng.random() < 0.01:
            out.append(
                m.FaultRecord(
                    station_id=self.station_id,
                    at=day_start + timedelta(hours=12),
                    device="haptic_left",
                    fault="over_temperature",
                    detail="simulated",
                )
            )
        return out

    def _session(self, patient: uuid.UUID, at: datetime) -> list[m.Record]:
        sid = m.new_id()
        level = self.level[patient]
        steps = self.rng.randint(4, 6)
        base = max(0, min(10, self.rng.gauss(3, 1.5)))
        stopped = self.rng.random() < 0.08
        out: list[m.Record] = []
        t = at
        delivered = 0
        for i in range(steps):
            kind = ("vibrate", "tap", "brush", "rest")[i % 4]
            out.append(
                m.StepRecord(
                    station_id=self.station_id,
                    patient_id=patient,
                    at=t,
                    session_id=sid,
                    step_index=i,
                    step_kind=kind,
                    label=f"{kind} {i + 1}",
                    started_at=t,
                    finished_at=t + timedelta(minutes=2),
                )
            )
            value = int(max(0, min(10, round(base + self.rng.gauss(0, 1)))))
            out.append(
                m.RatingRecord(
                    station_id=self.station_id,
                    patient_id=patient,
                    at=t + timedelta(minutes=2),
                    session_id=sid,
                    step_index=i,
                    live=True,
                    value=value,
                )
            )
            t += timedelta(minutes=2)
            delivered += 1
            if stopped and i == 1:
                break
        session = m.SessionRecord(
            id=sid,
            station_id=self.station_id,
            patient_id=patient,
            at=t,
            local_id=self._next(),
            protocol_id="vibration-ladder",
            protocol_version="1.0",
            level=level,
            state="stopped" if stopped else "completed",
            end_reason="rating" if stopped else None,
            started_at=at,
            ended_at=t,
            planned_steps=steps,
            delivered_steps=delivered,
        )
        action = "down" if stopped and level > 0 else ("up" if base < 2.5 else "stay")
        new_level = level + {"up": 1, "down": -1, "stay": 0}[action]
        self.level[patient] = new_level
        out.append(session)
        out.append(
            m.DecisionRecord(
                station_id=self.station_id,
                patient_id=patient,
                at=t,
                session_id=sid,
                action=action,
                from_level=level,
                to_level=new_level,  # type: ignore[arg-type]
                reason=f"simulated: mean rating {base:.1f}",
            )
        )
        if self.rng.random() < 0.2:
            out.append(
                m.JournalRecord(
                    station_id=self.station_id,
                    patient_id=patient,
                    at=t,
                    session_id=sid,
                    text="Felt a tingle afterwards, gone in ten minutes.",
                    trigger="after_session",
                )
            )
        return out

    def _next(self) -> int:
        self.local_id += 1
        return self.local_id
