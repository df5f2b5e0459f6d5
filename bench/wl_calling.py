"""Calling: 200 concurrent simulated volunteers looping next → start → report (survey, comment, opportunity)
against the API under uvicorn with several workers (as in production), vs the bare Starlette + asyncpg app
(bench/bare_app.py) doing the same work on the same tables, same run: throughput, p50/p99, errors, and SQL
statements per API call (pg_stat_statements)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from typing import Any

from bench.context import Ctx, has_route
from bench.loadgen import LoadResult, Server, run_load
from bench.report import Row, unavailable

PATHS = [("post", "/api/v1/actions/{action_id}/calls/next"), ("post", "/api/v1/calls/{target_id}/start"),
         ("post", "/api/v1/calls/{target_id}/report")]
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
QUESTIONS = [
    {"id": "q1", "type": "single_choice", "label": "Veți vota la alegerile locale?", "options": ["da", "nu", "nu știu"],
     "required": True},
    {"id": "q2", "type": "scale", "label": "Cât de important este transportul public?", "min": 1, "max": 5},
]


async def setup_calling(ctx: Ctx, volunteers: int, targets: int) -> dict[str, Any]:
    """Volunteers (the generated ones plus extra ones up to `volunteers`), a survey, an opportunity type, and two
    identical call actions (one per server) with `targets` targets assigned round-robin."""
    conn = await ctx.su()
    try:
        from app.core.security import hash_token

        org = ctx.org_id
        vols = [(u["id"], u["token"]) for u in ctx.users("volunteer")]
        for i in range(len(vols), volunteers):
            uid = str(uuid.UUID(hashlib.md5(f"callvol{i}".encode()).hexdigest()))
            token = f"gg_benchcall_{i:04d}_{hashlib.sha256(f'{ctx.seed}:{i}'.encode()).hexdigest()[:24]}"
            await conn.execute("INSERT INTO users (id, email, full_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                               uid, f"caller{i}@bench.groundgame.org", f"Caller {i}")
            await conn.execute("INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'volunteer') "
                               "ON CONFLICT DO NOTHING", org, uid)
            await conn.execute("INSERT INTO auth_tokens (token_hash, user_id, organization_id, expires_at) "
                               "VALUES ($1, $2, $3, '2099-01-01T00:00:00Z') ON CONFLICT DO NOTHING",
                               hash_token(token), uid, org)
            vols.append((uid, token))
        vols = vols[:volunteers]
        survey_id = str(uuid.uuid4())
        await conn.execute("INSERT INTO surveys (organization_id, id, title, current_version) VALUES ($1, $2, $3, 1)",
                           org, survey_id, "Bench: sondaj telefonic")
        await conn.execute("INSERT INTO survey_versions (organization_id, survey_id, version, questions) "
                           "VALUES ($1, $2, 1, $3::jsonb)", org, survey_id, json.dumps(QUESTIONS))
        opp = await conn.fetchval("INSERT INTO opportunity_types (organization_id, name) VALUES ($1, $2) "
                                  "ON CONFLICT (organization_id, name) DO UPDATE SET active = true RETURNING id",
                                  org, "Wants to volunteer")
        actions = {}
        for label in ("bare", "app"):
            aid = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO actions (organization_id, id, type, title, status, survey_id, allow_others) "
                "VALUES ($1, $2, 'call', $3, 'active', $4, true)", org, aid, f"Bench phone bank ({label})", survey_id)
            await conn.executemany("INSERT INTO action_volunteers (organization_id, action_id, user_id) "
                                   "VALUES ($1, $2, $3)", [(org, aid, v) for v, _ in vols])
            n = await conn.execute("""
                INSERT INTO action_targets (organization_id, action_id, contact_id, assignee_user_id, seq)
                SELECT c.organization_id, $2, c.id,
                       ($3::uuid[])[1 + ((row_number() OVER (ORDER BY c.id) - 1) % cardinality($3::uuid[]))],
                       row_number() OVER (ORDER BY c.id)
                FROM (SELECT organization_id, id FROM contacts
                      WHERE organization_id = $1 AND NOT dnc_phone
                        AND ((mobile_e164 IS NOT NULL AND NOT mobile_invalid) OR home_e164 IS NOT NULL)
                      ORDER BY id LIMIT $4) c""", org, aid, [v for v, _ in vols], targets)
            await conn.execute("UPDATE actions SET target_count = $3 WHERE organization_id = $1 AND id = $2",
                               org, aid, int(n.split()[-1]))
            actions[label] = aid
        await conn.execute("ANALYZE action_targets")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return {"tokens": [t for _, t in vols], "survey": {"id": survey_id}, "opp_type": str(opp),
                "actions": actions}
    finally:
        await conn.close()


async def statements(ctx: Ctx, reset: bool = False) -> dict[str, int] | None:
    conn = await ctx.su()
    try:
        if not await conn.fetchval("SELECT to_regclass('pg_stat_statements') IS NOT NULL"):
            return None
        try:
            if reset:
                await conn.execute("SELECT pg_stat_statements_reset()")
                return {}
            rows = await conn.fetch("""
                SELECT query, calls FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND userid = 'groundgame_app'::regrole""")
        except Exception:
            return None  # not in shared_preload_libraries
    finally:
        await conn.close()
    total = sum(int(r["calls"]) for r in rows)
    tx = sum(int(r["calls"]) for r in rows
             if r["query"].strip().lower().split(" ")[0] in ("begin", "commit", "rollback", "savepoint", "release"))
    return {"total": total, "transaction_control": tx, "sql": total - tx}


async def measure(ctx: Ctx, server: Server, setup: dict[str, Any], action: str, seconds: float
                  ) -> tuple[LoadResult, dict[str, int] | None]:
    await server.start()
    try:
        tokens = setup["tokens"]
        # warm-up (connections, prepared statements), not measured
        await run_load(server.url, tokens[: max(4, len(tokens) // 4)], setup["actions"][action],
                       1.0 if ctx.smoke else 3.0, survey=setup["survey"], opp_type=setup["opp_type"], seed=7)
        await statements(ctx, reset=True)
        res = await run_load(server.url, tokens, setup["actions"][action], seconds, survey=setup["survey"],
                             opp_type=setup["opp_type"], seed=11)
        st = await statements(ctx)
    finally:
        await server.stop()
    return res, st


async def run(ctx: Ctx) -> list[Row]:
    n_vol = 20 if ctx.smoke else 200
    seconds = 3.0 if ctx.smoke else 40.0
    metric = f"calling loop, {n_vol} volunteers, {WORKERS} uvicorn workers (next → start → report)"
    bar = ">= 0.6x bare throughput; p99 <= 150 ms; 0 errors"
    async with ctx.asgi_client() as (app, _client):
        missing = [p for m, p in PATHS if not has_route(app, p, m)]
    setup = await setup_calling(ctx, n_vol, 2_000 if ctx.smoke else 60_000)
    env = ctx.services.env(ctx.db)
    bare_env = {**env, "BARE_DSN": ctx.services.dsn(ctx.db, superuser=False)}
    bare, bare_st = await measure(ctx, Server("bench.bare_app:app", bare_env, WORKERS), setup, "bare", seconds)
    b = bare.summary()
    calls_b = max(1, bare.requests)
    st_note = (f"; {bare_st['sql'] / calls_b:.1f} SQL (+{bare_st['transaction_control'] / calls_b:.1f} BEGIN/COMMIT)"
               " per API call") if bare_st else ""
    rows = [Row("calling", f"bare Starlette + asyncpg, {n_vol} volunteers", b["steps_per_s"], None, "steps/s", None,
                "reference", None,
                f"p50 {b['p50_ms']:.0f} ms, p99 {b['p99_ms']:.0f} ms, {b['errors']} errors, {b['steps']:,} steps in "
                f"{b['seconds']:.0f}s{st_note}", {"bare": b, "bare_statements": bare_st})]
    if missing:
        rows.append(unavailable("calling", metric, f"{', '.join(missing)} not in the API", reference=b["steps_per_s"],
                                unit="steps/s", bar=bar))
        return rows
    real, real_st = await measure(ctx, Server("app.main:create_app", env, WORKERS, factory=True), setup, "app",
                                  seconds)
    a = real.summary()
    ratio = a["steps_per_s"] / b["steps_per_s"] if b["steps_per_s"] else None
    ok = bool(ratio is not None and ratio >= 0.6 and a["p99_ms"] <= 150 and a["errors"] == 0 and a["steps"] > 0)
    rows.append(Row("calling", metric, a["steps_per_s"], b["steps_per_s"], "steps/s", ratio, bar, ok,
                    f"p50 {a['p50_ms']:.0f} ms, p99 {a['p99_ms']:.0f} ms, {a['errors']} errors "
                    f"{a['error_samples'][:1]}, {a['steps']:,} steps", {"app": a, "bare": b},
                    correct=a["errors"] == 0 and a["steps"] > 0))
    if real_st:
        per_call = real_st["sql"] / max(1, real.requests)
        rows.append(Row("calling", "SQL statements per API call (pg_stat_statements)", per_call,
                        bare_st["sql"] / calls_b if bare_st else None, "", None, "<= 6 per step", per_call <= 6,
                        f"+{real_st['transaction_control'] / max(1, real.requests):.1f} BEGIN/COMMIT per call",
                        {"app": real_st, "bare": bare_st}))
    else:
        rows.append(unavailable("calling", "SQL statements per API call", "pg_stat_statements not loaded",
                                bar="<= 6 per step"))
    return rows
