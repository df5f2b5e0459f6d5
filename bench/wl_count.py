"""Targeting preview: POST /api/v1/contacts/count with a real sector polygon + tag + has_phone, through the real app
in-process (ASGI), vs the bare `SELECT count(*) … ST_Covers(…)` as the same non-owner role, medians of repeated
interleaved runs."""

from __future__ import annotations

import json
from typing import Any

from bench.context import Ctx, Timer, has_route
from bench.report import Row, median, unavailable
from bench.zones import to_geojson_geometry, zone_features

BARE_COUNT = """
SELECT count(*) FROM contacts c
WHERE c.organization_id = $1
  AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), c.location)
  AND c.tags && $3::text[]
  AND ((c.mobile_e164 IS NOT NULL AND NOT c.mobile_invalid) OR (c.home_e164 IS NOT NULL AND NOT c.home_invalid))
"""


def sector_feature(seed: int, name: str = "Sectorul 1") -> dict[str, Any]:
    return next(f for f in zone_features(seed) if f["properties"]["name"] == name)


async def bare_count(ctx: Ctx, conn: Any, geometry: dict[str, Any], tags: list[str]) -> tuple[int, float]:
    t = Timer()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", ctx.org_id)
        n = await conn.fetchval(BARE_COUNT, ctx.org_id, json.dumps(geometry), tags)
    return int(n), t.ms


async def run(ctx: Ctx) -> list[Row]:
    feat = sector_feature(ctx.seed)
    geometry = to_geojson_geometry(feat)
    tags = ["pensions"]
    name = f"count: {feat['properties']['name']} ({feat['properties']['vertices']} vertices) + tag + has_phone"
    bar = "<= 1.2x bare + 10 ms"
    reps = ctx.reps(9, 3)
    conn = await ctx.app_conn()
    try:
        async with ctx.asgi_client() as (app, client):
            if not has_route(app, "/api/v1/contacts/count"):
                ref = [(await bare_count(ctx, conn, geometry, tags))[1] for _ in range(reps)]
                return [
                    unavailable(
                        "targeting",
                        name,
                        "POST /api/v1/contacts/count does not exist",
                        reference=median(ref),
                        unit="ms",
                        bar=bar,
                    )
                ]
            body = {"filter": {"polygon": geometry, "tags_any": tags, "has_phone": True}}
            app_ms: list[float] = []
            ref_ms: list[float] = []
            app_n = ref_n = -1
            errors: list[str] = []
            for i in range(reps + 2):  # two warm-up rounds, then interleaved measurements
                t = Timer()
                r = await client.post("/api/v1/contacts/count", json=body)
                ms = t.ms
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
                    break
                app_n = int(r.json()["count"])
                ref_n, rms = await bare_count(ctx, conn, geometry, tags)
                if i >= 2:
                    app_ms.append(ms)
                    ref_ms.append(rms)
            if errors:
                ref = [(await bare_count(ctx, conn, geometry, tags))[1] for _ in range(reps)]
                return [Row("targeting", name, None, median(ref), "ms", None, bar, False, f"API error {errors[0]}")]
    finally:
        await conn.close()
    a, b = median(app_ms), median(ref_ms)
    same = app_n == ref_n
    ok = a <= 1.2 * b + 10 and same
    note = f"count {app_n:,} (bare {ref_n:,})" + ("" if same else " MISMATCH")
    return [
        Row(
            "targeting",
            name,
            a,
            b,
            "ms",
            a / b if b else None,
            bar,
            ok,
            note,
            {
                "app_ms": app_ms,
                "bare_ms": ref_ms,
                "count": app_n,
                "bare_count": ref_n,
                "selected_share": app_n / ctx.size,
            },
            correct=same,
        )
    ]
