"""Reading tiles in tests: web mercator tile math and the decoded `contacts` layer."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile

EXTENT = 4096


def tile_fraction(lon: float, lat: float, z: int) -> tuple[float, float]:
    """The point in tile units at zoom z (x to the east, y down), e.g. (1234.5, 678.9)."""
    n = 2**z
    rad = math.radians(lat)
    return (lon + 180) / 360 * n, (1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    fx, fy = tile_fraction(lon, lat, z)
    return z, int(fx), int(fy)


def in_tile(lon: float, lat: float, z: int, x: int, y: int) -> bool:
    fx, fy = tile_fraction(lon, lat, z)
    return x <= fx <= x + 1 and y <= fy <= y + 1


def pixel(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    fx, fy = tile_fraction(lon, lat, z)
    return (fx - x) * EXTENT, (fy - y) * EXTENT


def features(data: bytes) -> list[dict[str, Any]]:
    """The `contacts` layer's features: {"xy": (x, y) in tile units, y down, "props": {...}}."""
    if not data:
        return []
    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    assert set(layers) == {"contacts"}
    layer = layers["contacts"]
    assert layer["extent"] == EXTENT
    out = []
    for f in layer["features"]:
        assert f["geometry"]["type"] == "Point"
        out.append({"xy": tuple(f["geometry"]["coordinates"]), "props": f["properties"]})
    return out
