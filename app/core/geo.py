"""GeoJSON in and out, WGS 84 (SRID 4326) in one place; polygon validation with Shapely."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity, make_valid

from app.core.errors import Unprocessable

SRID = 4326
MAX_VERTICES = 100_000


class InvalidGeometry(Unprocessable):
    code = "invalid_geometry"
    message = "The geometry is invalid."


def _fail(field: str, reason: str) -> InvalidGeometry:
    return InvalidGeometry(f"Invalid geometry: {reason}", details=[{"field": field, "message": reason}])


def _check_ring(ring: Any, field: str) -> int:
    if not isinstance(ring, list) or len(ring) < 4:
        raise _fail(field, "a ring needs at least 4 positions")
    for i, pos in enumerate(ring):
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise _fail(f"{field}.{i}", "a position is [longitude, latitude]")
        lon, lat = pos[0], pos[1]
        if not (-180 <= lon <= 180) or not (-90 <= lat <= 90):
            raise _fail(f"{field}.{i}", f"coordinates out of range (lon {lon}, lat {lat}); GeoJSON is [lon, lat]")
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise _fail(field, "ring is not closed (first and last positions differ)")
    return len(ring)


def parse_area(
    geojson: Any, *, field: str = "geometry", repair: bool = False, max_vertices: int = MAX_VERTICES
) -> MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon → a valid Shapely MultiPolygon, or a 422 naming the problem."""
    if not isinstance(geojson, dict):
        raise _fail(field, "expected a GeoJSON object")
    kind = geojson.get("type")
    coords = geojson.get("coordinates")
    polys: Any
    if kind == "Polygon":
        polys = [coords]
    elif kind == "MultiPolygon":
        polys = coords
    else:
        raise _fail(f"{field}.type", "expected Polygon or MultiPolygon")
    if not isinstance(polys, list) or not polys:
        raise _fail(f"{field}.coordinates", "empty geometry")
    total = 0
    for pi, poly in enumerate(polys):
        if not isinstance(poly, list) or not poly:
            raise _fail(f"{field}.coordinates.{pi}", "empty polygon")
        for ri, ring in enumerate(poly):
            total += _check_ring(
                ring, f"{field}.coordinates.{pi}.{ri}" if kind == "MultiPolygon" else f"{field}.coordinates.{ri}"
            )
            if total > max_vertices:
                raise _fail(field, f"too many vertices (over {max_vertices})")
    geom = shape({"type": kind, "coordinates": coords})
    if geom.is_empty:
        raise _fail(field, "empty geometry")
    if not geom.is_valid:
        if not repair:
            reason = explain_validity(geom)
            raise _fail(field, f"{reason}; send ?repair=true to fix it automatically")
        geom = make_valid(geom)
        polys_only = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
        geom = shapely.union_all(polys_only) if polys_only else geom
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon) or geom.is_empty or geom.area == 0:
        raise _fail(field, "empty geometry (no area)")
    return geom


def to_ewkt(geom: shapely.Geometry) -> str:
    return f"SRID={SRID};{geom.wkt}"
