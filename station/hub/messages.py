"""The clinic's message contract: every record a station publishes and every push the hub
sends, as pydantic models. One source of truth: the hub's ingest, the station's sync agent
(station/sync/) and the simulated station (simstation.py) all import these.

Topic layout (MQTT 5). ``<station>`` is the station id (``STATION_ID``: letters, digits,
``-`` and ``_``, never a person's name: brokers log topics and ACLs match on them).

===================================  =========  ====  ========  ============================
topic                                direction  QoS   retained  payload
===================================  =========  ====  ========  ============================
``clinic/<station>/rec/<kind>``      st -> hub  1     no        one record (``kind`` below)
``clinic/<station>/status``          st -> hub  1     yes       ``Status``; the station's
                                                                last will is ``Status``
                                                                with ``state="offline"``
``clinic/<station>/push/protocol``   hub -> st  1     yes       ``ProtocolPush``
``clinic/<station>/push/plan``       hub -> st  1     yes       ``PlanPush``
``clinic/<station>/stored``          hub -> st  1     no        ``Stored``: ids the hub has
                                                                committed
===================================  =========  ====  ========  ============================

Record kinds under ``rec/``: session, step, rating, journal, decision, adherence, fault,
outcome (issue 16's measures: VAS, flare, zone area, discrimination score), ack
(``PushAck``: a push applied or refused, with the reason).

Delivery (shared/reference/clinic-hub.md): a broker's PUBACK is not the hub's. A station
keeps a record in its outbox until the hub's ``Stored`` names its id, and re-sends what is
unacknowledged after a reconnect or a timeout; the hub stores by the record's global id
(``id``, a UUIDv7) with INSERT ... ON CONFLICT DO NOTHING, so a re-send is harmless. The
hub reads ``$share/hub/clinic/+/rec/#`` (MQTT 5 shared subscription: several hub workers
split the load) and ``clinic/+/status`` (not shared: retained messages are not sent to
shared subscriptions). A record's ``station_id`` must equal the topic's: the broker's ACL
confines a station to its own subtree, so the topic is the authenticated sender.

Patients are named only by ``patient_id``, a pseudonymous UUID the station issues; payloads
carry no names.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

SCHEMA_VERSION = 1
STATION_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SLUG = r"^[a-z][a-z0-9_-]{0,47}$"
StationId = Annotated[str, Field(pattern=STATION_ID, description="the station's id")]
RECORD_KINDS = (
    "session", "step", "rating", "journal", "decision", "adherence", "fault", "outcome", "ack"
)  # fmt: skip
PUSH_KINDS = ("protocol", "plan")
MAX_PAYLOAD = 256 * 1024  # bytes of one message (a protocol push is the largest)


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562: unix ms, then a counter and random bits, so ids made in the same
    millisecond still sort in order): Python's own from 3.14, else the maintained
    ``uuid-utils``, returned as a plain ``uuid.UUID``."""
    if sys.version_info >= (3, 14):
        return uuid.uuid7()  # type: ignore[attr-defined,unused-ignore]
    import uuid_utils

    return uuid.UUID(int=uuid_utils.uuid7().int)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- topics ------------------------------------------------------------------------------
def record_topic(*, station_id: str, kind: str) -> str:
    return f"clinic/{station_id}/rec/{kind}"


def status_topic(*, station_id: str) -> str:
    return f"clinic/{station_id}/status"


def push_topic(*, station_id: str, kind: str) -> str:
    return f"clinic/{station_id}/push/{kind}"


def stored_topic(*, station_id: str) -> str:
    return f"clinic/{station_id}/stored"


def hub_subscriptions(*, group: str = "hub") -> tuple[str, str]:
    """(shared record subscription, status subscription) the hub's workers use."""
    return f"$share/{group}/clinic/+/rec/#", "clinic/+/status"


# --- records: station -> hub -------------------------------------------------------------
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = Field(1, description="message schema version")
    id: uuid.UUID = Field(default_factory=new_id, description="global id (UUIDv7)")
    station_id: StationId
    at: AwareDatetime = Field(default_factory=utcnow, description="when it happened (station)")


class _PatientRecord(_Message):
    patient_id: uuid.UUID = Field(description="pseudonymous patient id (never a name)")


class SessionRecord(_PatientRecord):
    kind: Literal["session"] = "session"
    local_id: int = Field(ge=1, description="the session's id in the station's database")
    protocol_id: str = Field(pattern=SLUG)
    protocol_version: str = Field(max_length=20)
    ladder: str = Field("main", max_length=48)
    level: int = Field(ge=0, le=1000)
    state: Literal["completed", "stopped", "aborted"]
    end_reason: str | None = Field(
        None, max_length=200, description="stop reason (vocab.py; a fault names its device)"
    )
    started_at: AwareDatetime
    ended_at: AwareDatetime
    planned_steps: int = Field(ge=0, le=10_000)
    delivered_steps: int = Field(ge=0, le=10_000)


class StepRecord(_PatientRecord):
    kind: Literal["step"] = "step"
    session_id: uuid.UUID = Field(description="the session's global id")
    step_index: int = Field(ge=0, le=10_000)
    # the station's step kinds (station.program.StepKind)
    step_kind: Literal["vibrate", "tap", "brush", "manual", "rest", "rate", "discriminate"]
    label: str = Field(max_length=120)
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None


class RatingRecord(_PatientRecord):
    kind: Literal["rating"] = "rating"
    session_id: uuid.UUID
    step_index: int | None = Field(None, ge=0, le=10_000)
    live: bool
    value: int = Field(ge=0, le=10, description="pain 0-10 (numeric rating scale)")
    pleasantness: int | None = Field(None, ge=-10, le=10)
    lingering: bool | None = None


class JournalRecord(_PatientRecord):
    kind: Literal["journal"] = "journal"
    session_id: uuid.UUID | None = None
    text: str = Field(max_length=4000)
    trigger: str | None = Field(None, max_length=200)  # the station's journal allows 200


class DecisionRecord(_PatientRecord):
    kind: Literal["decision"] = "decision"
    session_id: uuid.UUID
    ladder: str = Field("main", max_length=48)
    action: Literal["up", "stay", "down", "pause"]
    from_level: int = Field(ge=0, le=1000)
    to_level: int = Field(ge=0, le=1000)
    reason: str = Field(max_length=300)


class AdherenceRecord(_PatientRecord):
    kind: Literal["adherence"] = "adherence"
    day: date
    done: int = Field(ge=0, le=100, description="sessions completed that day")
    prescribed: int = Field(ge=0, le=100)


OUTCOME_FIELDS = {  # which fields each measure has (the others stay None)
    "vas": ("vas_rest", "vas_use", "vas_touch"),
    "flare": (),
    "zone_area": ("outline", "area_cm2"),
    "discrimination": ("session_id", "trials", "correct", "missed"),
}
Vas = Annotated[int | None, Field(ge=0, le=100, description="VAS, mm on a 100 mm line")]


class OutcomeRecord(_PatientRecord):
    """An outcome measure (issue 16): a VAS entry (0-100 mm at rest, in use, on touch: at
    least one), a flare (its note), the sensitive zone's area on a body map (cm^2, per
    outline), or a session's discrimination score. ``local_id`` is the row's id at the
    station (the entry, the body map or the session)."""

    kind: Literal["outcome"] = "outcome"
    measure: Literal["vas", "flare", "zone_area", "discrimination"]
    local_id: int = Field(ge=1)
    vas_rest: Vas = None
    vas_use: Vas = None
    vas_touch: Vas = None
    note: str = Field("", max_length=2000)
    outline: Literal["front", "back", "hand-left", "hand-right"] | None = None
    area_cm2: float | None = Field(None, ge=0, le=30_000, description="zone area, cm^2")
    session_id: uuid.UUID | None = None
    trials: int | None = Field(None, ge=0, le=100_000)
    correct: int | None = Field(None, ge=0, le=100_000)
    missed: int | None = Field(None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _fits_measure(self) -> OutcomeRecord:
        mine = OUTCOME_FIELDS[self.measure]
        for name in {f for fs in OUTCOME_FIELDS.values() for f in fs} - set(mine):
            if getattr(self, name) is not None:
                raise ValueError(f"{name}: not a field of a {self.measure} outcome")
        if self.measure == "vas" and all(getattr(self, f) is None for f in mine):
            raise ValueError("vas_rest: a VAS entry needs at least one of rest, use, touch")
        if self.measure in ("zone_area", "discrimination"):
            missing = [f for f in mine if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{missing[0]}: a {self.measure} outcome needs it")
        if self.measure == "discrimination":
            assert self.trials is not None and self.correct is not None
            if self.correct + (self.missed or 0) > self.trials:
                raise ValueError("correct: correct and missed trials exceed the trials")
        return self


class FaultRecord(_Message):
    kind: Literal["fault"] = "fault"
    patient_id: uuid.UUID | None = None
    device: str = Field(max_length=48)
    fault: str = Field(max_length=48, description="e.g. over_temperature, nack, missing")
    detail: str = Field("", max_length=300)


class PushAck(_Message):
    """The station's answer to a push: applied, or refused as a whole with the reason."""

    kind: Literal["ack"] = "ack"
    push_id: uuid.UUID
    push_kind: Literal["protocol", "plan"]
    outcome: Literal["applied", "refused"]
    reason: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _reason(self) -> PushAck:
        if self.outcome == "refused" and not self.reason.strip():
            raise ValueError("reason: a refusal needs its reason")
        return self


Record = Annotated[
    SessionRecord
    | StepRecord
    | RatingRecord
    | JournalRecord
    | DecisionRecord
    | AdherenceRecord
    | FaultRecord
    | OutcomeRecord
    | PushAck,
    Field(discriminator="kind"),
]
RECORD = TypeAdapter(Record)


class Status(_Message):
    """Retained at ``clinic/<station>/status``; the station's last will says offline."""

    kind: Literal["status"] = "status"
    state: Literal["online", "offline"]
    software: str = Field("", max_length=40)
    patients: int | None = Field(None, ge=0, le=100)


# --- hub -> station ----------------------------------------------------------------------
class ProtocolPush(_Message):
    """A protocol for the station's library, as the clinician's TOML text; the station
    validates it exactly as a local import and answers with a ``PushAck``."""

    kind: Literal["protocol"] = "protocol"
    protocol_id: str = Field(pattern=SLUG)
    document: str = Field(min_length=1, max_length=200_000, description="TOML text")
    by: str = Field("", max_length=80, description="the clinician who pushed it")


class PlanPush(_Message):
    """A patient's plan: which protocol (and version) at which level per ladder."""

    kind: Literal["plan"] = "plan"
    patient_id: uuid.UUID
    protocol_id: str = Field(pattern=SLUG)
    protocol_version: str | None = Field(None, max_length=20)
    levels: dict[Annotated[str, Field(max_length=48)], Annotated[int, Field(ge=0, le=1000)]] = (
        Field(default_factory=dict)
    )
    by: str = Field("", max_length=80)


class Stored(_Message):
    """The hub committed these records: the station may drop them from its outbox."""

    kind: Literal["stored"] = "stored"
    ids: list[uuid.UUID] = Field(max_length=5000)


class TopicMismatch(ValueError):
    """The payload names another station or kind than the topic it came on."""


def parse_record(*, topic: str, payload: bytes) -> Record:
    """A record from ``clinic/<station>/rec/<kind>``; ValueError (pydantic's
    ValidationError or TopicMismatch) when the payload is invalid or disagrees with the
    topic (a station may only speak for itself)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"{len(payload)} bytes; a message may have {MAX_PAYLOAD}")
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "clinic" or parts[2] != "rec":
        raise TopicMismatch(f"topic {topic!r} is not clinic/<station>/rec/<kind>")
    record = RECORD.validate_json(payload)
    if record.station_id != parts[1] or record.kind != parts[3]:
        raise TopicMismatch(
            f"payload says station {record.station_id!r} kind {record.kind!r} but came on {topic!r}"
        )
    return record


def parse_status(*, topic: str, payload: bytes) -> Status:
    parts = topic.split("/")
    status = Status.model_validate_json(payload)
    if len(parts) != 3 or parts[1] != status.station_id:
        raise TopicMismatch(f"status of {status.station_id!r} came on {topic!r}")
    return status


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()
