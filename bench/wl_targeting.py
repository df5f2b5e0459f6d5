"""Targeting: preview (POST /api/v1/actions/preview) and action creation + split across 100 volunteers, vs the bare
`SELECT count(*)` and `INSERT … SELECT … ST_Covers` (with the round-robin split in the same statement) written by hand,
on the real tables, same predicate, same run; and the target sets compared."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bench.context import Ctx, Timer, has_route, table_exists
from bench.report import Row, median, unavailable
from bench.zones import to_geojson_geometry, zone_features

ZONE = "Generated: Centru-Nord"
PRED = """c.organization_id = $1
  AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), c.location)
  AND c.tags && $3::text[]
  AND ((c.mobile_e164 IS NOT NULL AND NOT c.mobile_invalid) OR (c.home_e164 IS NOT NULL AND NOT c.home_invalid))
  AND NOT c.dnc_phone"""
BARE_PREVIEW = f"SELECT count(*) FROM contacts c WHERE {PRED}"
BARE_CREATE = f"""
WITH a AS (
  INSERT INTO actions (organization_id, id, type, title, status, filter)
  VALUES ($1, $5, 'call', 'bench reference', 'draft', '{{}}'::jsonb) RETURNING id
)
INSERT INTO action_targets (organization_id, action_id, contact_id, assignee_user_id)
SELECT c.organization_id, (SELECT id FROM a), c.id,
       ($4::uuid[])[1 + ((row_number() OVER (ORDER BY c.id) - 1) % cardinality($4::uuid[]))]
FROM contacts c WHERE {PRED}
"""


def zone(seed: int) -> dict[str, Any]:
    return next(f for f in zone_features(seed) if f["properties"]["name"] == ZONE)


async def _tenant(conn: Any, org: str) -> None:
    await conn.execute("SELECT set_config('app.organization_id', $1, true)", org)


async def bare_preview(ctx: Ctx, conn: Any, geom: str, tags: list[str]) -> tuple[int, float]:
    t = Timer()
    async with conn.transaction():
        await _tenant(conn, ctx.org_id)
        n = await conn.fetchval(BARE_PREVIEW, ctx.org_id, geom, tags)
    return int(n), t.ms


async def bare_create(ctx: Ctx, conn: Any, geom: str, tags: list[str], volunteers: list[str],
                      keep: bool = False) -> tuple[str, int, float]:
    """Creates the reference action + targets + split in one statement; rolled back unless keep."""
    action_id = str(uuid.uuid4())
    t = Timer()
    tr = conn.transaction()
    await tr.start()
    try:
        await _tenant(conn, ctx.org_id)
        res = await conn.execute(BARE_CREATE, ctx.org_id, geom, tags, volunteers, action_id)
        ms = t.ms
    finally:
        if keep:
            await tr.commit()
        else:
            await tr.rollback()
    return action_id, int(res.split()[-1]), ms


async def run(ctx: Ctx) -> list[Row]:
    feat = zone(ctx.seed)
    geometry = to_geojson_geometry(feat)
    geom = json.dumps(geometry)
    tags = ["pensions"]
    vols = [u["id"] for u in ctx.users("volunteer")][:100]
    label = f"{ZONE} ({feat['properties']['vertices']:,} vertices, {feat['properties']['holes']} holes) + tag + phone"
    reps = ctx.reps(9, 2)
    rows: list[Row] = []
    conn = await ctx.app_conn()
    try:
        if not await table_exists(conn, "action_targets"):
            return [unavailable("targeting", "preview: " + label, "no action_targets table",
                                bar="<= 1.2x bare + 10 ms"),
                    unavailable("targeting", "create + split 100", "no action_targets table", bar="<= 1.3x bare")]
        ref_prev = []
        n_prev = 0
        for _ in range(reps):
            n_prev, ms = await bare_preview(ctx, conn, geom, tags)
            ref_prev.append(ms)
        ref_create = []
        n_created = 0
        for _ in range(max(1, reps // 3)):
            _, n_created, ms = await bare_create(ctx, conn, geom, tags, vols)
            ref_create.append(ms)
        async with ctx.asgi_client() as (app, _client):
            preview = has_route(app, "/api/v1/actions/preview")
            create = has_route(app, "/api/v1/actions") and has_route(app, "/api/v1/actions/{action_id}/assign")
        share = f"{n_prev:,} targets = {n_prev / ctx.size:.1%} of contacts"
        if not preview:
            rows.append(unavailable("targeting", "preview: " + label, "POST /api/v1/actions/preview does not exist",
                                    reference=median(ref_prev), unit="ms", bar="<= 1.2x bare + 10 ms",
                                    details={"bare_count": n_prev, "share": n_prev / ctx.size}))
            rows[-1].note += f" (bare: {share})"
        if not create:
            rows.append(unavailable("targeting", "create + split across 100 volunteers",
                                    "POST /api/v1/actions + /actions/{id}/assign do not exist",
                                    reference=median(ref_create), unit="ms",
                                    bar="<= 1.3x bare; same set; imbalance <= 1",
                                    details={"bare_targets": n_created}))
        if preview and create:
            rows.append(Row("targeting", "preview + create", None, None, "", None, "", None,
                            "endpoints exist: bench adapter not written yet"))
    finally:
        await conn.close()
    return rows
