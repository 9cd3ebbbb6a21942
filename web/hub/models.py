"""Request models of the hub's API (they validate and document it, as web/models.py does
for the station)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.hub.messages import SLUG


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PushIn(_Strict):
    """A protocol (its TOML text) or a patient's plan, for one station."""

    kind: Literal["protocol", "plan"]
    protocol_id: str = Field(pattern=SLUG)
    document: str | None = Field(
        None, min_length=1, max_length=200_000, description="protocol: the TOML text"
    )
    patient_id: uuid.UUID | None = Field(None, description="plan: the patient's pseudonym")
    protocol_version: str | None = Field(None, max_length=20)
    levels: dict[Annotated[str, Field(max_length=48)], Annotated[int, Field(ge=0, le=1000)]] = (
        Field(default_factory=dict)
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> PushIn:
        if self.kind == "protocol" and not self.document:
            raise ValueError("document: a protocol push needs the protocol's TOML text")
        if self.kind == "plan" and self.patient_id is None:
            raise ValueError("patient_id: a plan push needs the patient's id")
        return self


class ExportQuery(_Strict):
    format: Literal["csv", "json", "fhir"] = "json"
