"""The message contract: UUIDv7 ids (RFC 9562), a payload bound to its topic, no names."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from pydantic import ValidationError

from station.hub import messages as m


def test_ids_are_uuid_version_7_and_time_ordered():
    before = int(time.time() * 1000)
    ids = [m.new_id() for _ in range(5000)]  # many within one ms: still in order
    after = int(time.time() * 1000)
    for i in ids:
        assert i.version == 7 and i.variant == uuid.RFC_4122
        assert before <= i.int >> 80 <= after  # RFC 9562 5.7: the top 48 bits are unix ms
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_a_payload_must_match_its_topic():
    rec = m.RatingRecord(
        station_id="st-a", patient_id=uuid.uuid4(), session_id=m.new_id(), live=True, value=4
    )
    payload = m.encode(rec)
    assert m.parse_record(topic="clinic/st-a/rec/rating", payload=payload) == rec
    with pytest.raises(m.TopicMismatch):
        m.parse_record(topic="clinic/st-b/rec/rating", payload=payload)
    with pytest.raises(m.TopicMismatch):
        m.parse_record(topic="clinic/st-a/rec/session", payload=payload)


@pytest.mark.parametrize(
    "change",
    [
        {"value": 11},
        {"value": -1},
        {"patient_id": "Jane Doe"},
        {"station_id": "a/b"},
        {"at": "2025-01-01T10:00:00"},
        {"name": "Jane"},
    ],
)
def test_bad_records_are_refused(change):
    good = m.RatingRecord(
        station_id="st-a", patient_id=uuid.uuid4(), session_id=m.new_id(), live=True, value=4
    ).model_dump(mode="json")
    with pytest.raises(ValidationError):
        m.RECORD.validate_python({**good, **change})


def test_a_refusal_needs_a_reason():
    with pytest.raises(ValidationError):
        m.PushAck(station_id="s", push_id=m.new_id(), push_kind="plan", outcome="refused")


def test_cli_init_station_add_and_user_add(tmp_path):
    run = [sys.executable, "-m", "station.launcher", "hub"]
    d = ["--data-dir", str(tmp_path)]
    done = subprocess.run(
        [*run, "init", *d, "--port", "18999", "--run-as", "root"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    conf = (tmp_path / "mosquitto" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "certfile" in conf
    done = subprocess.run(
        [*run, "station", "add", "ward-1", *d], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mosquitto" / "passwd").read_text().count("ward-1:") == 1
    bad = subprocess.run(
        [*run, "station", "add", "hub", *d], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and "station id 'hub'" in bad.stderr
    done = subprocess.run(
        [*run, "user", "add", "dr-lee", *d],
        input="correct horse battery\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    weak = subprocess.run(
        [*run, "user", "add", "dr-two", *d],
        input="password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert weak.returncode == 1 and "password" in weak.stderr
