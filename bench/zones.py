"""Zones for targeting: the 6 real Bucharest sectors plus generated polygons of thousands of vertices, with holes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

from bench.people import M_PER_DEG_LAT, M_PER_DEG_LON, sectors

CENTER = (26.1025, 44.4268)  # Piața Universității


def _radial_ring(
    rng: np.random.Generator, cx: float, cy: float, radius_m: float, n: int, roughness: float = 0.25
) -> list[tuple[float, float]]:
    """A simple (non self-intersecting) closed ring: r(θ) > 0 with θ strictly increasing."""
    theta = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 9):
        r += roughness / k * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
    r += rng.normal(0, roughness / 25, n)  # fine-grained wiggle: many vertices, like a real boundary
    r = np.clip(r, 0.35, None) * radius_m
    xs = cx + r * np.cos(theta) / M_PER_DEG_LON
    ys = cy + r * np.sin(theta) / M_PER_DEG_LAT
    pts = list(zip(xs.tolist(), ys.tolist(), strict=True))
    return [*pts, pts[0]]


def _polygon_with_holes(
    rng: np.random.Generator, cx: float, cy: float, radius_m: float, n: int, holes: int, hole_vertices: int
) -> Polygon:
    outer = Polygon(_radial_ring(rng, cx, cy, radius_m, n, roughness=0.18))
    inner: list[list[tuple[float, float]]] = []
    tries = 0
    while len(inner) < holes and tries < 200:
        tries += 1
        ang = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(0.15, 0.55) * radius_m
        hx = cx + dist * math.cos(ang) / M_PER_DEG_LON
        hy = cy + dist * math.sin(ang) / M_PER_DEG_LAT
        ring = _radial_ring(rng, hx, hy, rng.uniform(0.06, 0.14) * radius_m, hole_vertices, roughness=0.2)
        hp = Polygon(ring)
        if not hp.is_valid or not outer.contains(hp.buffer(1e-4)):
            continue
        if any(Polygon(h).buffer(1e-4).intersects(hp) for h in inner):
            continue
        inner.append(ring)
    poly = Polygon(outer.exterior.coords, inner)
    assert poly.is_valid, "generated polygon is invalid"
    return poly


def zone_features(seed: int) -> list[dict[str, Any]]:
    """GeoJSON features: name, kind, the geometry (MultiPolygon), vertex and hole counts."""
    rng = np.random.default_rng([seed, 7])
    names, geoms, raw = sectors()
    feats: list[dict[str, Any]] = []
    for i, (name, g, geo) in enumerate(zip(names, geoms, raw, strict=True), start=1):
        feats.append(
            {
                "type": "Feature",
                "geometry": geo,
                "properties": {
                    "name": name,
                    "code": f"B-S{i}",
                    "kind": "district",
                    "generated": False,
                    "vertices": int(shapely.get_num_coordinates(g)),
                    "holes": 0,
                },
            }
        )
    specs = [
        # name, centre offset (m east, m north), radius, vertices, holes, hole vertices
        ("Generated: Centru-Nord", (0, 1500), 6200, 4000, 3, 600),
        ("Generated: Est", (4500, -500), 3500, 8000, 2, 1200),
        ("Generated: Bucharest core", (-300, 0), 7500, 20000, 5, 1500),
    ]
    for name, (ox, oy), radius, n, holes, hv in specs:
        cx = CENTER[0] + ox / M_PER_DEG_LON
        cy = CENTER[1] + oy / M_PER_DEG_LAT
        poly = _polygon_with_holes(rng, cx, cy, radius, n, holes, hv)
        mp = MultiPolygon([poly])
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(mp),
                "properties": {
                    "name": name,
                    "code": f"GEN-{len(feats) + 1}",
                    "kind": "custom",
                    "generated": True,
                    "vertices": int(shapely.get_num_coordinates(mp)),
                    "holes": len(poly.interiors),
                },
            }
        )
    # A multipolygon of three separate parts (one with a hole): e.g. a campaign's target neighbourhoods.
    parts = []
    for j, (ox, oy) in enumerate([(-6000, -3000), (2000, -6000), (6500, 4500)]):
        cx = CENTER[0] + ox / M_PER_DEG_LON
        cy = CENTER[1] + oy / M_PER_DEG_LAT
        parts.append(_polygon_with_holes(rng, cx, cy, 1500, 1500, 1 if j == 0 else 0, 300))
    mp = MultiPolygon(parts)
    assert mp.is_valid
    feats.append(
        {
            "type": "Feature",
            "geometry": mapping(mp),
            "properties": {
                "name": "Generated: three neighbourhoods (multipolygon)",
                "code": f"GEN-{len(feats) + 1}",
                "kind": "neighbourhood",
                "generated": True,
                "vertices": int(shapely.get_num_coordinates(mp)),
                "holes": 1,
            },
        }
    )
    return feats


def to_geojson_geometry(feat: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON (lists, not tuples) for request bodies."""
    g = feat["geometry"]
    return {"type": g["type"], "coordinates": _lists(g["coordinates"])}


def _lists(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_lists(v) for v in x]
    return x
