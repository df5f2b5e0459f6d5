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
  AND NOT c.dnc_phone AND c.consent_phone IS DISTINCT FROM 'withdrawn'"""
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


async def bare_create(
    ctx: Ctx, conn: Any, geom: str, tags: list[str], volunteers: list[str], keep: bool = False
) -> tuple[str, int, float]:
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


async def compare_sets(ctx: Ctx, app_action: str, ref_action: str) -> dict[str, int]:
    """Targets of the app's action vs the reference action: symmetric difference, and the split's imbalance."""
    conn = await ctx.su()
    try:
        diff = await conn.fetchval(
            """
            SELECT count(*) FROM (
              (SELECT contact_id FROM action_targets WHERE organization_id = $1 AND action_id = $2
               EXCEPT SELECT contact_id FROM action_targets WHERE organization_id = $1 AND action_id = $3)
              UNION ALL
              (SELECT contact_id FROM action_targets WHERE organization_id = $1 AND action_id = $3
               EXCEPT SELECT contact_id FROM action_targets WHERE organization_id = $1 AND action_id = $2)) d""",
            ctx.org_id,
            app_action,
            ref_action,
        )
        per = await conn.fetch(
            """SELECT assignee_user_id, count(*) AS n FROM action_targets
                                  WHERE organization_id = $1 AND action_id = $2 GROUP BY 1""",
            ctx.org_id,
            app_action,
        )
        n = await conn.fetchval(
            "SELECT count(*) FROM action_targets WHERE organization_id = $1 AND action_id = $2", ctx.org_id, app_action
        )
    finally:
        await conn.close()
    assigned = [int(r["n"]) for r in per if r["assignee_user_id"] is not None]
    unassigned = sum(int(r["n"]) for r in per if r["assignee_user_id"] is None)
    return {
        "difference": int(diff),
        "targets": int(n),
        "volunteers": len(assigned),
        "unassigned": unassigned,
        "imbalance": (max(assigned) - min(assigned)) if assigned else -1,
    }


async def run(ctx: Ctx) -> list[Row]:
    feat = zone(ctx.seed)
    geometry = to_geojson_geometry(feat)
    geom = json.dumps(geometry)
    tags = ["pensions"]
    vols = [u["id"] for u in ctx.users("volunteer")][:100]
    label = f"{ZONE} ({feat['properties']['vertices']:,} vertices, {feat['properties']['holes']} holes) + tag + phone"
    reps = ctx.reps(7, 2)
    bar_prev = "<= 1.2x bare + 10 ms; same count"
    bar_create = "<= 1.3x bare; same set; imbalance <= 1"
    rows: list[Row] = []
    conn = await ctx.app_conn()
    try:
        if not await table_exists(conn, "action_targets"):
            return [
                unavailable("targeting", "preview: " + label, "no action_targets table", bar=bar_prev),
                unavailable("targeting", "create + split 100", "no action_targets table", bar=bar_create),
            ]
        filt = {"polygon": geometry, "tags_any": tags, "has_phone": True}
        async with ctx.asgi_client() as (app, client):
            preview = has_route(app, "/api/v1/actions/preview")
            create = has_route(app, "/api/v1/actions") and has_route(app, "/api/v1/actions/{action_id}/assign")
            # ---- preview
            ref_prev: list[float] = []
            app_prev: list[float] = []
            n_prev = app_count = -1
            err = ""
            for i in range(reps + 1):
                n_prev, ms = await bare_preview(ctx, conn, geom, tags)
                if i:
                    ref_prev.append(ms)
                if preview and not err:
                    t = Timer()
                    r = await client.post(
                        "/api/v1/actions/preview", json={"filter": filt, "type": "call", "sample_size": 10}
                    )
                    if r.status_code != 200:
                        err = f"{r.status_code}: {r.text[:200]}"
                    else:
                        app_count = int(r.json()["count"])
                        if i:
                            app_prev.append(t.ms)
            share = f"{n_prev:,} targets = {n_prev / ctx.size:.1%} of contacts"
            if not preview:
                rows.append(
                    unavailable(
                        "targeting",
                        "preview: " + label,
                        "POST /api/v1/actions/preview does not exist",
                        reference=median(ref_prev),
                        unit="ms",
                        bar=bar_prev,
                    )
                )
                rows[-1].note += f" (bare: {share})"
            elif err:
                rows.append(
                    Row(
                        "targeting",
                        "preview: " + label,
                        None,
                        median(ref_prev),
                        "ms",
                        None,
                        bar_prev,
                        False,
                        f"API error {err}",
                    )
                )
            else:
                a, b = median(app_prev), median(ref_prev)
                same = app_count == n_prev
                rows.append(
                    Row(
                        "targeting",
                        "preview: " + label,
                        a,
                        b,
                        "ms",
                        a / b if b else None,
                        bar_prev,
                        a <= 1.2 * b + 10 and same,
                        f"count {app_count:,} (bare {n_prev:,}){'' if same else ' MISMATCH'}; {share}",
                        {"app_ms": app_prev, "bare_ms": ref_prev},
                        correct=same,
                    )
                )
            # ---- creation + split
            ref_create: list[float] = []
            app_create: list[float] = []
            n_created = 0
            app_action = ""
            err = ""
            body = {
                "type": "call",
                "title": "Bench: pensions phone bank",
                "status": "scheduled",
                "filter": filt,
                "volunteer_ids": vols,
                "assignment": {"strategy": "round_robin", "volunteer_ids": vols},
            }
            for _ in range(max(1, reps // 3)):
                _, n_created, ms = await bare_create(ctx, conn, geom, tags, vols)
                ref_create.append(ms)
                if create and not err:
                    t = Timer()
                    r = await client.post("/api/v1/actions", json=body)
                    if r.status_code != 201:
                        err = f"{r.status_code}: {r.text[:300]}"
                    else:
                        app_create.append(t.ms)
                        app_action = str(r.json()["id"])
            if not create:
                rows.append(
                    unavailable(
                        "targeting",
                        "create + split across 100 volunteers",
                        "POST /api/v1/actions + /actions/{id}/assign do not exist",
                        reference=median(ref_create),
                        unit="ms",
                        bar=bar_create,
                        details={"bare_targets": n_created},
                    )
                )
            elif err:
                rows.append(
                    Row(
                        "targeting",
                        "create + split across 100 volunteers",
                        None,
                        median(ref_create),
                        "ms",
                        None,
                        bar_create,
                        False,
                        f"API error {err}",
                    )
                )
            else:
                ref_action, _, _ = await bare_create(ctx, conn, geom, tags, vols, keep=True)
                cmp = await compare_sets(ctx, app_action, ref_action)
                a, b = median(app_create), median(ref_create)
                correct = cmp["difference"] == 0 and 0 <= cmp["imbalance"] <= 1 and cmp["unassigned"] == 0
                rows.append(
                    Row(
                        "targeting",
                        f"create + split across {len(vols)} volunteers (one request)",
                        a,
                        b,
                        "ms",
                        a / b if b else None,
                        bar_create,
                        a <= 1.3 * b and correct,
                        f"{cmp['targets']:,} targets (bare {n_created:,}), set difference {cmp['difference']}, "
                        f"imbalance {cmp['imbalance']}, unassigned {cmp['unassigned']}",
                        {"app_ms": app_create, "bare_ms": ref_create, **cmp},
                        correct=correct,
                    )
                )
    finally:
        await conn.close()
    return rows
