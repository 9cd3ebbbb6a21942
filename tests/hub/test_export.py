"""Export at the hub: CSV/JSON per patient, and FHIR R4 Observations (LOINC 72514-3, pain
0-10) validated by fhir.resources. Expected values come from the records ingested."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from station.hub import export
from station.hub.broker import Broker
from station.hub.simstation import SimStation
from station.hub.store import HubStore


@pytest.fixture
def filled(tmp_path):
    store = HubStore.open(database=None, data_dir=tmp_path)
    sim = SimStation(station_id="ward-5", broker=Broker(host="127.0.0.1", port=1), patients=2)
    records = [r for d in range(4) for r in sim.day(d)]
    store.ingest(batch=records)
    store.ingest(batch=records[:10])  # a re-delivery changes nothing
    yield store, sim, records
    store.close()


def test_fhir_observations_per_rating_validate(filled):
    store, sim, records = filled
    patient = str(sim.patients[0])
    ratings = {str(r.id): r for r in records if r.kind == "rating" and str(r.patient_id) == patient}
    assert ratings
    text = export.render(store=store, patient_id=patient, fmt="fhir")
    bundle = Bundle.model_validate_json(text)  # validates every resource again
    assert bundle.type == "collection" and len(bundle.entry) == len(ratings)
    for entry in bundle.entry:
        obs = Observation.model_validate(entry.resource.model_dump())
        rating = ratings[obs.id]
        coding = obs.code.coding[0]
        assert (coding.system, coding.code) == ("http://loinc.org", "72514-3")
        assert obs.valueInteger == rating.value and 0 <= obs.valueInteger <= 10
        assert obs.subject.reference == f"Patient/{patient}"
        assert obs.status == "final"
    assert "name" not in json.dumps(
        [e.resource.model_dump(mode="json")["subject"] for e in bundle.entry]
    )


def test_fhir_validation_is_real():
    # what fhir.resources refuses (so the export's validation can fail): no status (1..1),
    # a date that is not a FHIR dateTime, a rating that is not an integer
    base = {"resourceType": "Observation", "status": "final", "code": {"text": "pain"}}
    Observation.model_validate(base)
    for bad in ({"status": None}, {"effectiveDateTime": "yesterday"}, {"valueInteger": "seven"}):
        with pytest.raises(ValidationError):
            Observation.model_validate({**base, **bad})


def test_csv_and_json_hold_every_record_of_the_patient_once(filled):
    store, sim, records = filled
    patient = str(sim.patients[1])
    want = {str(r.id) for r in records if str(getattr(r, "patient_id", "")) == patient}
    rows = list(
        csv.DictReader(io.StringIO(export.render(store=store, patient_id=patient, fmt="csv")))
    )
    assert sorted(r["id"] for r in rows) == sorted(want)
    doc = json.loads(export.render(store=store, patient_id=patient, fmt="json"))
    assert sorted(r["id"] for r in doc["records"]) == sorted(want)
