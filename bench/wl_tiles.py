"""HQ map: the contacts vector tile at z12 over the densest area of the base, through the real app in-process
(GET /api/v1/tiles/contacts/12/x/y.mvt as an admin), vs the bare ST_AsMVT statement written by hand (the same
grid clustering) as the same non-owner role under RLS; medians of interleaved runs, features compared."""

from __future__ import annotations

from typing import Any

from bench.context import Ctx, Timer, has_route
from bench.report import Row, median, unavailable

Z = 12
GRID = 32
HALF_WORLD = 20037508.342789244
BAR = "<= 1.2x bare + 10 ms, same features"

# The z12 tile holding the most contacts (tile indices from lon/lat, web mercator; a point on an edge counts in
# one tile here and in both tiles' bounding-box test, so the tile's count can be a few more).
DENSEST = f"""
SELECT floor((ST_X(location) + 180) / 360 * {2**Z})::int AS x,
       floor((1 - ln(tan(radians(ST_Y(location))) + 1 / cos(radians(ST_Y(location)))) / pi()) / 2 * {2**Z})::int AS y,
       count(*) AS n
FROM contacts WHERE organization_id = $1 AND location IS NOT NULL
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1
"""


def bare_tile_sql(x: int, y: int) -> str:
    size = 2 * HALF_WORLD / 2**Z
    cell = size / GRID
    xmin, ymax = -HALF_WORLD + x * size, HALF_WORLD - y * size
    env = f"ST_TileEnvelope({Z}, {x}, {y})"
    return f"""
SELECT ST_AsMVT(f, 'contacts', 4096, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(mx, my), 3857), {env}, 4096, 64, true) AS geom, n AS count,
         (SELECT l::int FROM unnest(levels) WITH ORDINALITY AS u(k, l) WHERE k > 0 ORDER BY k DESC, l LIMIT 1)
           AS support_level,
         round(mean, 2)::float8 AS support_mean
  FROM (
    SELECT count(*) AS n, avg(ST_X(g)) AS mx, avg(ST_Y(g)) AS my, avg(s) AS mean,
           ARRAY[count(*) FILTER (WHERE s = 1), count(*) FILTER (WHERE s = 2), count(*) FILTER (WHERE s = 3),
                 count(*) FILTER (WHERE s = 4), count(*) FILTER (WHERE s = 5)] AS levels
    FROM (SELECT ST_Transform(location, 3857) AS g, support_level AS s FROM contacts
          WHERE organization_id = $1 AND location && ST_Transform({env}, 4326)) p
    GROUP BY least(floor((ST_X(g) - {xmin!r}) / {cell!r}), {GRID - 1}),
             least(floor(({ymax!r} - ST_Y(g)) / {cell!r}), {GRID - 1})
  ) c
) f
"""


def summary(data: bytes) -> tuple[int, int]:
    """(features, sum of their `count`) of the tile's contacts layer."""
    import mapbox_vector_tile

    if not data:
        return 0, 0
    feats = mapbox_vector_tile.decode(data)["contacts"]["features"]
    return len(feats), sum(int(f["properties"].get("count", 1)) for f in feats)


async def bare_tile(ctx: Ctx, conn: Any, sql: str) -> tuple[bytes, float]:
    t = Timer()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", ctx.org_id)
        data = await conn.fetchval(sql, ctx.org_id)
    return bytes(data or b""), t.ms


async def run(ctx: Ctx) -> list[Row]:
    su = await ctx.su()
    try:
        x, y, n_tile = await su.fetchrow(DENSEST, ctx.org_id)
    finally:
        await su.close()
    name = f"tile z{Z}/{x}/{y} (densest: {n_tile:,} contacts), clustered"
    sql = bare_tile_sql(x, y)
    reps = ctx.reps(9, 3)
    conn = await ctx.app_conn()
    await conn.execute("SET jit = off")  # as the app's connections (app/core/db.py)
    try:
        async with ctx.asgi_client() as (app, client):
            path = f"/api/v1/tiles/contacts/{Z}/{x}/{y}.mvt"
            if not has_route(app, "/api/v1/tiles/contacts/{z}/{x}/{y}.mvt", "GET"):
                ref = [(await bare_tile(ctx, conn, sql))[1] for _ in range(reps)]
                return [
                    unavailable(
                        "tiles", name, "the tiles endpoint does not exist", reference=median(ref), unit="ms", bar=BAR
                    )
                ]
            app_ms: list[float] = []
            ref_ms: list[float] = []
            app_data = ref_data = b""
            for i in range(reps + 2):  # two warm-up rounds, then interleaved measurements
                t = Timer()
                r = await client.get(path)
                ms = t.ms
                if r.status_code not in (200, 204):
                    return [
                        Row(
                            "tiles",
                            name,
                            None,
                            None,
                            "ms",
                            None,
                            BAR,
                            False,
                            f"API error {r.status_code}: {r.text[:200]}",
                        )
                    ]
                app_data = r.content
                ref_data, rms = await bare_tile(ctx, conn, sql)
                if i >= 2:
                    app_ms.append(ms)
                    ref_ms.append(rms)
    finally:
        await conn.close()
    a, b = median(app_ms), median(ref_ms)
    (app_f, app_n), (ref_f, ref_n) = summary(app_data), summary(ref_data)
    same = app_f == ref_f and app_n == ref_n and app_n > 0
    ok = a <= 1.2 * b + 10 and same
    note = f"{app_f:,} features, {app_n:,} contacts (bare {ref_f:,}, {ref_n:,}), {len(app_data) / 1024:.0f} kB" + (
        "" if same else " MISMATCH"
    )
    return [
        Row(
            "tiles",
            name,
            a,
            b,
            "ms",
            a / b if b else None,
            BAR,
            ok,
            note,
            {
                "app_ms": app_ms,
                "bare_ms": ref_ms,
                "features": app_f,
                "bare_features": ref_f,
                "contacts": app_n,
                "bare_contacts": ref_n,
                "densest_tile_contacts": n_tile,
                "bytes": len(app_data),
            },
            correct=same,
        )
    ]
