"""Zones drawn on a map, and their subdivided pieces (kept in sync) for fast containment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, org_pk, tenant, updated_at, uuid_pk

ZONE_KINDS = ("district", "neighbourhood", "polling_station", "custom")


class Zone(Base):
    __tablename__ = tenant("zones")
    __table_args__ = (
        CheckConstraint(f"kind IN {ZONE_KINDS!r}", name="kind"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["organization_id", "parent_id"], ["zones.organization_id", "zones.id"], ondelete="SET NULL (parent_id)"
        ),
        Index(None, "organization_id", "code", unique=True, postgresql_where="code IS NOT NULL"),
        Index("ix_zones_geom", "geom", postgresql_using="gist"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), server_default="custom")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    vertex_count: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ZonePiece(Base):
    """ST_Subdivide(zone.geom): small pieces whose bounding boxes make the GiST index selective."""

    __tablename__ = tenant("zone_pieces")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id", "zone_id"], ["zones.organization_id", "zones.id"], ondelete="CASCADE"),
        Index("ix_zone_pieces_geom", "geom", postgresql_using="gist"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    zone_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    piece_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
