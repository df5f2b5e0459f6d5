"""The contacts tile as one PostGIS statement: the visible contacts inside the tile, either each as a point
(`support_level`, `id`) or, below CLUSTER_BELOW_ZOOM, one point per grid cell at its members' centroid
(`count`, the dominant `support_level`, `support_mean`). z/x/y are validated integers, inlined so the
planner sees a constant envelope; every statement starts from the organization, and the visibility and filter
conditions come in as SQLAlchemy expressions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, literal_column, select

from app.models import Contact

EXTENT = 4096  # tile coordinates per side (the MVT default)
BUFFER = 64
GRID = 32  # cluster cells per tile side: at most GRID² features in a clustered tile
CLUSTER_BELOW_ZOOM = 14
LAYER = "contacts"
HALF_WORLD = 20037508.342789244  # web mercator: half the world's width in metres


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @property
    def envelope(self) -> str:
        return f"ST_TileEnvelope({int(self.z)}, {int(self.x)}, {int(self.y)})"

    @property
    def clustered(self) -> bool:
        return self.z < CLUSTER_BELOW_ZOOM


def in_tile(t: Tile) -> ColumnElement[bool]:
    """Bounding-box test on the GiST index of contacts.location (a mercator tile is a lon/lat rectangle)."""
    return Contact.location.op("&&")(literal_column(f"ST_Transform({t.envelope}, 4326)"))


def _mvt(rows: Any) -> Select[Any]:
    return select(literal_column(f"ST_AsMVT(f, '{LAYER}', {EXTENT}, 'geom')")).select_from(rows)


def _geom(point_3857: str, t: Tile) -> Any:
    return literal_column(f"ST_AsMVTGeom({point_3857}, {t.envelope}, {EXTENT}, {BUFFER}, true)").label("geom")


def points(t: Tile, org: uuid.UUID, conds: list[ColumnElement[bool]]) -> Select[Any]:
    rows = (
        select(
            _geom("ST_Transform(contacts.location, 3857)", t),
            Contact.support_level.label("support_level"),
            cast(Contact.id, String).label("id"),
        )
        .select_from(Contact)
        .where(Contact.organization_id == org, *conds, in_tile(t))
        .subquery("f")
    )
    return _mvt(rows)


def clusters(t: Tile, org: uuid.UUID, conds: list[ColumnElement[bool]]) -> Select[Any]:
    size = 2 * HALF_WORLD / 2**t.z
    cell = size / GRID
    xmin, ymax = -HALF_WORLD + t.x * size, HALF_WORLD - t.y * size
    pts = (
        select(literal_column("ST_Transform(contacts.location, 3857)").label("g"), Contact.support_level.label("s"))
        .select_from(Contact)
        .where(Contact.organization_id == org, *conds, in_tile(t))
        .subquery("p")
    )
    # Cells clamped to the tile: a point on its edge belongs to the edge cell.
    cx = f"least(floor((ST_X(p.g) - {xmin!r}) / {cell!r}), {GRID - 1})"
    cy = f"least(floor(({ymax!r} - ST_Y(p.g)) / {cell!r}), {GRID - 1})"
    levels = ", ".join(f"count(*) FILTER (WHERE p.s = {i})" for i in range(1, 6))
    cells = (
        select(
            literal_column("count(*)").label("n"),
            literal_column("avg(ST_X(p.g))").label("mx"),
            literal_column("avg(ST_Y(p.g))").label("my"),
            literal_column("avg(p.s)").label("mean"),
            literal_column(f"ARRAY[{levels}]").label("levels"),
        )
        .select_from(pts)
        .group_by(literal_column(cx), literal_column(cy))
        .subquery("c")
    )
    rows = (
        select(
            _geom("ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857)", t),
            literal_column("c.n").label("count"),
            # The level most members have (ties: the more supportive); none known: null (the property is absent).
            literal_column(
                "(SELECT l::int FROM unnest(c.levels) WITH ORDINALITY AS u(k, l)"
                " WHERE k > 0 ORDER BY k DESC, l LIMIT 1)"
            ).label("support_level"),
            literal_column("round(c.mean, 2)::float8").label("support_mean"),
        )
        .select_from(cells)
        .subquery("f")
    )
    return _mvt(rows)


def tile_query(t: Tile, org: uuid.UUID, conds: list[ColumnElement[bool]]) -> Select[Any]:
    return clusters(t, org, conds) if t.clustered else points(t, org, conds)
