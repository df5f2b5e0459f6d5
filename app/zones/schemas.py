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
