"""Outcome measures at the hub (issue 16): the trends the clinician page and API show, and
the FHIR R4 Observations for the ones that have a standard code.

FHIR, where a code exists:
- VAS (0-100 mm at rest, in use, on touch): LOINC 38214-3 "Pain severity [Score] Visual
  analog score". Source: IHE PCC's Pain Score Observation template
  (1.3.6.1.4.1.19376.1.5.3.1.1.12.3.1, https://wiki.ihe.net/index.php?title=
  1.3.6.1.4.1.19376.1.5.3.1.1.12.3.1) lists 38214-3 as the pain score made with a visual
  analogue scale, data type REAL (a measured length). LOINC's name fixes no line length,
  so each value is sent as a Quantity in UCUM millimetres on the station's 100 mm line
  (``valueQuantity {value, unit "mm", system UCUM, code "mm"}``): a receiver never has
  to guess between 0-10 cm and 0-100 mm. One Observation per context (rest, use,
  touch), the context in ``code.text`` and the note, since the LOINC code has none.
- A flare, the zone's area on a body map and a session's discrimination score have no
  LOINC or SNOMED code we could confirm: they are in the CSV/JSON export and the page,
  not in the FHIR Bundle (better absent than coded wrong).
"""

from __future__ import annotations

import uuid
from typing import Any

from station.hub import queries
from station.hub.store import HubStore

LOINC = "http://loinc.org"
VAS_CODE = "38214-3"
VAS_DISPLAY = "Pain severity [Score] Visual analog score"
UCUM = "http://unitsofmeasure.org"
CONTEXTS = {"vas_rest": "at rest", "vas_use": "in use", "vas_touch": "on touch"}


def trends(store: HubStore, patient_id: str) -> dict[str, list[dict[str, Any]]]:
    """Each measure over time, oldest first (what the page draws as a trend)."""
    out: dict[str, list[dict[str, Any]]] = {
        "vas": [],
        "flares": [],
        "zone_area": [],
        "discrimination": [],
    }
    for r in queries.patient_records(store, patient_id, "outcome"):
        base = {"at": r["at"], "id": r["id"]}
        if r["measure"] == "vas":
            out["vas"].append(base | {k[4:]: r[k] for k in CONTEXTS})
        elif r["measure"] == "flare":
            out["flares"].append(base | {"note": r["note"]})
        elif r["measure"] == "zone_area":
            out["zone_area"].append(base | {"outline": r["outline"], "area_cm2": r["area_cm2"]})
        elif r["measure"] == "discrimination":
            answered = r["trials"]
            accuracy = round(100 * r["correct"] / answered) if answered else None
            out["discrimination"].append(
                base
                | {k: r[k] for k in ("session_id", "trials", "correct", "missed")}
                | {"accuracy_percent": accuracy}
            )
    return out


def vas_observations(record: dict[str, Any]) -> list[Any]:
    """Validated ``fhir.resources`` Observations for one VAS outcome record (a dict): one
    per context given. Ids are UUIDv5 of the record's id and the context (stable)."""
    from fhir.resources.R4B.observation import Observation

    out = []
    for field, context in CONTEXTS.items():
        value = record.get(field)
        if value is None:
            continue
        oid = str(uuid.uuid5(uuid.UUID(record["id"]), field))
        out.append(
            Observation.model_validate(
                {
                    "resourceType": "Observation",
                    "id": oid,
                    "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{oid}"}],
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "observation-category",
                                    "code": "survey",
                                    "display": "Survey",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [{"system": LOINC, "code": VAS_CODE, "display": VAS_DISPLAY}],
                        "text": f"Pain VAS {context} (0-100 mm)",
                    },
                    "subject": {"reference": f"Patient/{record['patient_id']}"},
                    "effectiveDateTime": record["at"],
                    "valueQuantity": {"value": value, "unit": "mm", "system": UCUM, "code": "mm"},
                    "device": {"display": f"stimulation station {record['station_id']}"},
                    "note": [{"text": f"pain {context}, on a 100 mm visual analogue scale"}],
                }
            )
        )
    return out


def fhir_entries(store: HubStore, patient_id: str) -> list[dict[str, Any]]:
    """Bundle entries for the patient's coded outcome measures (VAS only; see above)."""
    return [
        {"fullUrl": f"urn:uuid:{obs.id}", "resource": obs}
        for r in queries.patient_records(store, patient_id, "outcome")
        if r["measure"] == "vas"
        for obs in vas_observations(r)
    ]
