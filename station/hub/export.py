"""One patient's record out of the hub: CSV, JSON, and FHIR R4 Observations.

FHIR: each rating is an Observation "Pain severity - 0-10 verbal numeric rating [Score] -
Reported" (LOINC 72514-3), status final, category survey, valueInteger 0-10, subject a
pseudonymous reference (``Patient/<patient id>``, no name), effectiveDateTime the rating's
time, and the record's global id as identifier. Built and validated with
``fhir.resources``: its R4B models (FHIR 4.3), whose Observation is the R4 (4.0.1) one
field for field (R4B changed only medication and substance resources); the package's
default module is R5. Outcome measures with a code (VAS, LOINC 38214-3) follow the
ratings: station/hub/outcomes.py.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from station.hub import queries
from station.hub.store import HubStore

LOINC = "http://loinc.org"
PAIN_CODE = "72514-3"
PAIN_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
ID_SYSTEM = "urn:ietf:rfc:3986"


def observation(rating: dict[str, Any]) -> Any:
    """A validated ``fhir.resources`` Observation for one rating record (a dict)."""
    from fhir.resources.R4B.observation import Observation

    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": rating["id"],
            "identifier": [{"system": ID_SYSTEM, "value": f"urn:uuid:{rating['id']}"}],
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                            "display": "Survey",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": LOINC, "code": PAIN_CODE, "display": PAIN_DISPLAY}],
                "text": "Pain severity 0-10",
            },
            "subject": {"reference": f"Patient/{rating['patient_id']}"},
            "effectiveDateTime": rating["at"],
            "valueInteger": rating["value"],
            "device": {"display": f"stimulation station {rating['station_id']}"},
            "note": [
                {
                    "text": "live rating during stimulation"
                    if rating["live"]
                    else "rating after the session"
                }
            ],
        }
    )


def fhir_bundle(store: HubStore, patient_id: str) -> Any:
    from fhir.resources.R4B.bundle import Bundle

    from station.hub.outcomes import fhir_entries

    entries = [
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": observation(r)}
        for r in queries.patient_records(store, patient_id, "rating")
    ] + fhir_entries(store, patient_id)  # VAS (LOINC 38214-3): station/hub/outcomes.py
    return Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})


CSV_FIELDS = ("id", "kind", "station_id", "at", "session_id", "value", "detail")


def render(*, store: HubStore, patient_id: str, fmt: str) -> str:
    from station.errors import StationError

    if not queries.patient_exists(store, patient_id):
        raise StationError(f"patient {patient_id!r}: no records at the hub")
    rows = queries.patient_records(store, patient_id)
    if fmt == "json":
        return json.dumps({"patient_id": patient_id, "records": rows}, indent=1) + "\n"
    if fmt == "fhir":
        return fhir_bundle(store, patient_id).model_dump_json(indent=1) + "\n"
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    out.writeheader()
    base = {"id", "kind", "station_id", "at", "session_id", "value", "patient_id", "v"}
    for r in rows:
        detail = {k: v for k, v in r.items() if k not in base}
        out.writerow(
            {
                "id": r["id"],
                "kind": r["kind"],
                "station_id": r["station_id"],
                "at": r["at"],
                "session_id": r.get("session_id") or "",
                "value": r.get("value", ""),
                "detail": json.dumps(detail, sort_keys=True),
            }
        )
    return buf.getvalue()
