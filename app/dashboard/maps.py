"""Maps for HQ: coverage and support per zone (a choropleth) and strong supporters / undecided per hexagon.

The people counted are the viewer's: the organization's base for managers, the targets of their teams' actions
for a team leader. Output is GeoJSON (RFC 7946, WGS 84)."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import Unprocessable
from app.dashboard.queries import OPEN_TARGETS_SQL, REACHED_SQL
from app.dashboard.scope import Scope, viewer_scope

MAX_CELLS = 20_000


def _targets_cte(scope: Scope, action_id: uuid.UUID | None, p: dict[str, Any]) -> str:
    if action_id is not None:
        p["a"] = action_id
        cond = "t.action_id = :a"
    else:
        cond = (
            "t.action_id IN (SELECT id FROM actions WHERE organization_id = :o AND status IN ('scheduled', 'active'))"
        )
    if scope.team_ids is not None:
        p["teams"] = sorted(scope.team_ids)
        cond += (
            " AND t.action_id IN (SELECT action_id FROM action_teams WHERE organization_id = :o"
            " AND team_id = ANY(CAST(:teams AS uuid[])))"
        )
    return (
        f"SELECT t.contact_id, t.status, t.last_outcome FROM action_targets t WHERE t.organization_id = :o AND {cond}"  # noqa: S608 - clauses built in code from constants; values are bound
    )


def _people_cte(scope: Scope, action_id: uuid.UUID | None, p: dict[str, Any]) -> str:
    """The contacts whose support the viewer may map."""
    base = "SELECT c.id, c.location, c.support_level, c.is_donor FROM contacts c WHERE c.organization_id = :o"
    if scope.team_ids is None and action_id is None:
        return base + " AND c.location IS NOT NULL"
    return (
        base  # noqa: S608 - clauses built in code from constants; values are bound
        + f" AND c.location IS NOT NULL AND c.id IN (SELECT contact_id FROM ({_targets_cte(scope, action_id, p)}) tg)"  # noqa: S608 - clauses built in code from constants; values are bound
    )


async def zones_geojson(
    session: AsyncSession, *, actor: Principal, action_id: uuid.UUID | None, simplify: float
) -> dict[str, Any]:
    scope = await viewer_scope(session, actor)
    p: dict[str, Any] = {"o": scope.organization_id, "tol": simplify}
    sql = f"""
    WITH tg AS ({_targets_cte(scope, action_id, p)}),
    people AS ({_people_cte(scope, action_id, p)}),
    tz AS (SELECT DISTINCT zp.zone_id, c.id, tg.status, tg.last_outcome FROM tg
           JOIN contacts c ON c.organization_id = :o AND c.id = tg.contact_id
           JOIN zone_pieces zp ON zp.organization_id = :o AND ST_Intersects(zp.geom, c.location)),
    cov AS (SELECT zone_id, count(*) AS targets,
                   count(*) FILTER (WHERE last_outcome IN {REACHED_SQL}) AS reached,
                   count(*) FILTER (WHERE status NOT IN {OPEN_TARGETS_SQL}) AS finished
            FROM tz GROUP BY zone_id),
    pz AS (SELECT DISTINCT zp.zone_id, c.id, c.support_level, c.is_donor FROM people c
           JOIN zone_pieces zp ON zp.organization_id = :o AND ST_Intersects(zp.geom, c.location)),
    sup AS (SELECT zone_id, count(*) AS people,
                   count(*) FILTER (WHERE support_level = 1) AS strong_supporters,
                   count(*) FILTER (WHERE support_level IN (1, 2)) AS supporters,
                   count(*) FILTER (WHERE support_level = 3) AS undecided,
                   count(*) FILTER (WHERE support_level IN (4, 5)) AS opposed,
                   count(*) FILTER (WHERE is_donor) AS donors,
                   avg(support_level) AS mean_level
            FROM pz GROUP BY zone_id)
    SELECT z.id, z.name, z.code, z.kind,
           ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(z.geom, :tol)), 6) AS geometry,
           coalesce(cov.targets, 0) AS targets, coalesce(cov.reached, 0) AS reached,
           coalesce(cov.finished, 0) AS finished, coalesce(sup.people, 0) AS people,
           coalesce(sup.strong_supporters, 0) AS strong_supporters, coalesce(sup.supporters, 0) AS supporters,
           coalesce(sup.undecided, 0) AS undecided, coalesce(sup.opposed, 0) AS opposed,
           coalesce(sup.donors, 0) AS donors, sup.mean_level
    FROM zones z LEFT JOIN cov ON cov.zone_id = z.id LEFT JOIN sup ON sup.zone_id = z.id
    WHERE z.organization_id = :o ORDER BY z.name, z.id"""  # noqa: S608 - clauses built in code from constants; values are bound
    rows = (await session.execute(text(sql), p)).mappings().all()
    features = []
    for r in rows:
        props = {k: r[k] for k in r if k not in ("id", "geometry", "mean_level")}
        props["zone_id"] = str(r["id"])
        props["coverage"] = round(r["reached"] / r["targets"], 4) if r["targets"] else None
        props["mean_support_level"] = round(float(r["mean_level"]), 3) if r["mean_level"] is not None else None
        features.append(
            {"type": "Feature", "id": str(r["id"]), "geometry": json.loads(r["geometry"]), "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}


def cell_size(bbox: tuple[float, float, float, float], size_m: float | None) -> float:
    """Hexagon edge in metres (Web Mercator): asked, or about 40 across the viewed map; bounded in count."""
    x1, y1, x2, y2 = bbox
    if not (-180 <= x1 < x2 <= 180 and -85 <= y1 < y2 <= 85):
        raise Unprocessable("Invalid bbox.", details=[{"field": "bbox", "message": "minLon,minLat,maxLon,maxLat"}])
    r = 6378137.0
    width = math.radians(x2 - x1) * r
    height = r * (
        math.log(math.tan(math.pi / 4 + math.radians(y2) / 2)) - math.log(math.tan(math.pi / 4 + math.radians(y1) / 2))
    )
    size = size_m if size_m is not None else max(width / 40 / math.sqrt(3), 10.0)
    cells = width * height / (1.5 * math.sqrt(3) * size * size)
    if cells > MAX_CELLS:
        raise Unprocessable(
            "Cells too small for this map: zoom in or enlarge them.",
            details=[{"field": "size_m", "message": f"more than {MAX_CELLS} cells"}],
        )
    return size


async def hexbins(
    session: AsyncSession,
    *,
    actor: Principal,
    bbox: tuple[float, float, float, float],
    size_m: float | None,
    action_id: uuid.UUID | None,
) -> dict[str, Any]:
    scope = await viewer_scope(session, actor)
    size = cell_size(bbox, size_m)
    x1, y1, x2, y2 = bbox
    p: dict[str, Any] = {"o": scope.organization_id, "x1": x1, "y1": y1, "x2": x2, "y2": y2, "size": size}
    sql = f"""
    WITH people AS ({_people_cte(scope, action_id, p)}),
    pts AS (SELECT ST_Transform(c.location, 3857) AS g, c.support_level FROM people c
            WHERE c.location && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)),
    cells AS (SELECT h.i, h.j, h.geom FROM ST_HexagonGrid(:size,
              ST_Transform(ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326), 3857)) h)
    SELECT ST_AsGeoJSON(ST_Transform(cells.geom, 4326), 6) AS geometry, cells.i, cells.j, count(*) AS people,
           count(*) FILTER (WHERE pts.support_level = 1) AS strong_supporters,
           count(*) FILTER (WHERE pts.support_level = 3) AS undecided
    FROM cells JOIN pts ON ST_Intersects(cells.geom, pts.g)
    GROUP BY cells.i, cells.j, cells.geom ORDER BY cells.i, cells.j"""  # noqa: S608 - clauses built in code from constants; values are bound
    rows = (await session.execute(text(sql), p)).mappings().all()
    return {
        "type": "FeatureCollection",
        "cell_size_m": round(size, 1),
        "features": [
            {
                "type": "Feature",
                "id": f"{r['i']}:{r['j']}",
                "geometry": json.loads(r["geometry"]),
                "properties": {
                    "people": r["people"],
                    "strong_supporters": r["strong_supporters"],
                    "undecided": r["undecided"],
                },
            }
            for r in rows
        ],
    }
