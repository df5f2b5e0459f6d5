"""HQ contacts table: the first page (50, by name) of POST /api/v1/contacts/search with a zone + tag filter over
the whole base, through the real app in-process, vs the bare keyset SELECT written by hand as the same non-owner
role under RLS; medians of interleaved runs, the page's ids compared."""

from __future__ import annotations

from typing import Any

from bench.context import Ctx, Timer, has_route
from bench.report import Row, median, unavailable

ZONE = "Sectorul 3"
TAGS = ["pensions"]
LIMIT = 50
BAR = "<= 1.2x bare + 10 ms, same page"
BARE_PAGE = f"""
SELECT c.* FROM contacts c
WHERE c.organization_id = $1
  AND ST_Covers((SELECT ST_Union(z.geom) FROM zones z WHERE z.organization_id = $1 AND z.id = $2), c.location)
  AND c.tags && $3::text[]
ORDER BY c.last_name, c.first_name, c.id
LIMIT {LIMIT + 1}
"""


async def bare_page(ctx: Ctx, conn: Any, zone_id: str) -> tuple[list[str], float]:
    t = Timer()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", ctx.org_id)
        rows = await conn.fetch(BARE_PAGE, ctx.org_id, zone_id, TAGS)
    return [str(r["id"]) for r in rows[:LIMIT]], t.ms


async def run(ctx: Ctx) -> list[Row]:
    su = await ctx.su()
    try:
        zone_id = await su.fetchval(
            "SELECT id::text FROM zones WHERE organization_id = $1 AND name = $2", ctx.org_id, ZONE
        )
    finally:
        await su.close()
    name = f"contacts table: first page ({LIMIT}, by name), zone {ZONE} + tag"
    if zone_id is None:
        return [unavailable("table", name, f"no zone {ZONE!r} in the bench base", bar=BAR)]
    reps = ctx.reps(15, 3)
    body = {"filter": {"zone_ids": [zone_id], "tags_any": TAGS}, "sort": "name", "limit": LIMIT}
    conn = await ctx.app_conn()
    await conn.execute("SET jit = off")  # as the app's connections (app/core/db.py)
    try:
        async with ctx.asgi_client() as (app, client):
            if not has_route(app, "/api/v1/contacts/search"):
                ref = [(await bare_page(ctx, conn, zone_id))[1] for _ in range(reps)]
                return [
                    unavailable(
                        "table",
                        name,
                        "POST /api/v1/contacts/search does not exist",
                        reference=median(ref),
                        unit="ms",
                        bar=BAR,
                    )
                ]
            app_ms: list[float] = []
            ref_ms: list[float] = []
            app_ids: list[str] = []
            ref_ids: list[str] = []
            for i in range(reps + 2):
                t = Timer()
                r = await client.post("/api/v1/contacts/search", json=body)
                ms = t.ms
                if r.status_code != 200:
                    return [
                        Row(
                            "table",
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
                app_ids = [c["id"] for c in r.json()["items"]]
                ref_ids, rms = await bare_page(ctx, conn, zone_id)
                if i >= 2:
                    app_ms.append(ms)
                    ref_ms.append(rms)
    finally:
        await conn.close()
    a, b = median(app_ms), median(ref_ms)
    same = app_ids == ref_ids and len(app_ids) == LIMIT
    ok = a <= 1.2 * b + 10 and same
    note = f"{len(app_ids)} rows" + ("" if same else f" MISMATCH (bare {len(ref_ids)} rows)")
    return [
        Row(
            "table",
            name,
            a,
            b,
            "ms",
            a / b if b else None,
            BAR,
            ok,
            note,
            {"app_ms": app_ms, "bare_ms": ref_ms, "rows": len(app_ids)},
            correct=same,
        )
    ]
