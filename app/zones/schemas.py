from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import Id, Strict, Unset

ZoneKind = Literal["district", "neighbourhood", "polling_station", "custom"]


class ZoneCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Sector 3"])
    code: str | None = Field(None, max_length=64, description="Your key for the zone (e.g. SIRUTA code).")
    kind: ZoneKind = "custom"
    parent_id: Id | None = None
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS 84, [lon, lat].")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Turnout, past results, population…")


class ZoneUpdate(Strict):
    name: str = Unset(min_length=1, max_length=200)
    code: str | None = Field(None, max_length=64)
    kind: ZoneKind = Unset()
    parent_id: Id | None = None
    geometry: dict[str, Any] = Unset()
    attributes: dict[str, Any] = Unset(description="Merged into the zone's attributes.")


class ZoneRead(BaseModel):
    id: uuid.UUID
    name: str
    code: str | None
    kind: str
    parent_id: uuid.UUID | None
    vertex_count: int
    attributes: dict[str, Any]
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    figures: dict[str, float | int | None] | None = None
    created_at: datetime


class FeatureCollectionImport(Strict):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(max_length=5000)
    name_property: str = Field("name", description="Which property holds the zone's name.")
    code_property: str | None = Field(None, description="Which property holds the zone's code.")
    kind: ZoneKind = "district"


class ZoneImportResult(BaseModel):
    created: int
    updated: int
    zones: list[ZoneRead]


class ZoneFigures(BaseModel):
    """A zone's live figures over the contacts the viewer may see (and the filter, when one is given)."""

    id: uuid.UUID
    name: str
    code: str | None
    kind: str
    contacts: int
    support_1: int = Field(description="Strong supporters.")
    support_2: int
    support_3: int = Field(description="Undecided.")
    support_4: int
    support_5: int = Field(description="Opposed.")
    support_unknown: int
    contacted: int = Field(description="Contacts ever reached by a call or a visit.")
    coverage: float | None = Field(description="contacted / contacts")
    targets: int | None = Field(None, description="With `action_id`: that action's targets in the zone.")
    targets_done: int | None = Field(None, description="With `action_id`: those targets done.")


class ZoneFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: uuid.UUID
    geometry: dict[str, Any] | None = Field(description="GeoJSON MultiPolygon (null without geometry).")
    properties: ZoneFigures


class ZoneFigureCollection(BaseModel):
    """GeoJSON (RFC 7946): a map layer of the zones with their figures."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ZoneFeature]
