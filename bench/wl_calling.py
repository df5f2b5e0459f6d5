"""Calling: 200 concurrent simulated volunteers looping next → start → report (survey, comment, opportunity)
against the API under uvicorn with several workers (as in production), vs the bare Starlette + asyncpg app
(bench/bare_app.py) doing the same work on the same tables, same run: throughput, p50/p99, errors, and SQL
statements per API call (pg_stat_statements)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
import uuid
from typing import Any

import httpx

from bench.context import Ctx, has_route
from bench.loadgen import LoadResult, Server, run_load
from bench.report import Row, unavailable

PATHS = [
    ("post", "/api/v1/actions/{action_id}/calls/next"),
    ("post", "/api/v1/calls/{target_id}/start"),
    ("post", "/api/v1/calls/{target_id}/report"),
]
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
QUESTIONS = [
    {
        "id": "q1",
        "kind": "single_choice",
        "label": "Veți vota la alegerile locale?",
        "required": True,
        "options": [
            {"value": "da", "label": "Da"},
            {"value": "nu", "label": "Nu"},
            {"value": "nu_stiu", "label": "Nu știu"},
        ],
    },
    {"id": "q2", "kind": "scale", "label": "Cât de important este transportul public?", "min": 1, "max": 5},
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
            await conn.execute(
                "INSERT INTO users (id, email, full_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                uid,
                f"caller{i}@bench.groundgame.org",
                f"Caller {i}",
            )
            await conn.execute(
                "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'volunteer') "
                "ON CONFLICT DO NOTHING",
                org,
                uid,
            )
            await conn.execute(
                "INSERT INTO auth_tokens (token_hash, user_id, organization_id, expires_at) "
                "VALUES ($1, $2, $3, '2099-01-01T00:00:00Z') ON CONFLICT DO NOTHING",
                hash_token(token),
                uid,
                org,
            )
            vols.append((uid, token))
        vols = vols[:volunteers]
        survey_id = str(uuid.uuid4())
        await conn.execute(
            "INSERT INTO surveys (organization_id, id, title, current_version) VALUES ($1, $2, $3, 1)",
            org,
            survey_id,
            "Bench: sondaj telefonic",
        )
        await conn.execute(
            "INSERT INTO survey_versions (organization_id, survey_id, version, questions) "
            "VALUES ($1, $2, 1, $3::jsonb)",
            org,
            survey_id,
            json.dumps(QUESTIONS),
        )
        opp = await conn.fetchval(
            "INSERT INTO opportunity_types (organization_id, name) VALUES ($1, $2) "
            "ON CONFLICT (organization_id, name) DO UPDATE SET active = true RETURNING id",
            org,
            "Wants to volunteer",
        )
        actions = {}
        counts: dict[str, int] = {}
        for label in ("bare", "app"):
            aid = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO actions (organization_id, id, type, title, status, survey_id, allow_others) "
                "VALUES ($1, $2, 'call', $3, 'active', $4, true)",
                org,
                aid,
                f"Bench phone bank ({label})",
                survey_id,
            )
            await conn.executemany(
                "INSERT INTO action_volunteers (organization_id, action_id, user_id) VALUES ($1, $2, $3)",
                [(org, aid, v) for v, _ in vols],
            )
            n = await conn.execute(
                """
                INSERT INTO action_targets (organization_id, action_id, contact_id, assignee_user_id, seq)
                SELECT c.organization_id, $2, c.id,
                       ($3::uuid[])[1 + ((row_number() OVER (ORDER BY c.id) - 1) % cardinality($3::uuid[]))],
                       row_number() OVER (ORDER BY c.id)
                FROM (SELECT organization_id, id FROM contacts
                      WHERE organization_id = $1 AND NOT dnc_phone AND consent_phone IS DISTINCT FROM 'withdrawn'
                        AND ((mobile_e164 IS NOT NULL AND NOT mobile_invalid) OR home_e164 IS NOT NULL)
                      ORDER BY id LIMIT $4) c""",
                org,
                aid,
                [v for v, _ in vols],
                targets,
            )
            await conn.execute(
                "UPDATE actions SET target_count = $3 WHERE organization_id = $1 AND id = $2",
                org,
                aid,
                int(n.split()[-1]),
            )
            actions[label] = aid
            counts[label] = int(n.split()[-1])
        await conn.execute("ANALYZE action_targets")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return {
            "tokens": [t for _, t in vols],
            "survey": {"id": survey_id},
            "opp_type": str(opp),
            "actions": actions,
            "counts": counts,
        }
    finally:
        await conn.close()


SEED_REPORTS = """
WITH done AS (
  SELECT id, contact_id, action_id, assignee_user_id,
         (ARRAY['answered','answered','absent','absent','refused','wrong_number'])[1 + abs(hashtext(id::text)) % 6]
           AS outcome
  FROM action_targets WHERE organization_id = $1 AND action_id = $2 ORDER BY seq DESC LIMIT $3),
rep AS (
  INSERT INTO field_reports (organization_id, id, kind, action_id, target_id, contact_id, user_id, outcome,
                             comment, quality, mobilized, consent_given, request_hash, response, created_at)
  SELECT $1, gen_random_uuid(), 'call', action_id, id, contact_id, assignee_user_id, outcome,
         CASE WHEN outcome = 'answered' THEN 'Seeded by the bench' END,
         CASE WHEN outcome = 'answered' THEN 1 + abs(hashtext(id::text)) % 5 END,
         outcome = 'answered' AND abs(hashtext(contact_id::text)) % 4 = 0, outcome = 'answered',
         md5(id::text), '{}'::jsonb, now() - interval '1 day'
  FROM done RETURNING target_id, outcome)
UPDATE action_targets t SET status = 'done', attempts = 1, last_outcome = rep.outcome,
       last_attempt_at = now() - interval '1 day'
FROM rep WHERE t.organization_id = $1 AND t.id = rep.target_id
"""
# The same aggregates the stats endpoint serves, recomputed from the raw tables (the dashboard's reference).
BARE_STATS = """
SELECT r.outcome, count(*) AS n, count(*) FILTER (WHERE r.mobilized) AS mobilized,
       count(*) FILTER (WHERE r.outcome = 'answered' AND c.support_level IS NOT NULL) AS with_level,
       (SELECT count(*) FROM action_targets t WHERE t.organization_id = $1 AND t.action_id = $2) AS targets
FROM field_reports r LEFT JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id
WHERE r.organization_id = $1 AND r.action_id = $2 AND r.kind = 'call'
GROUP BY r.outcome
"""
SEED_COUNTERS = """
INSERT INTO action_counters (organization_id, action_id, key, shard, value)
SELECT $1, $2, k, 0, n FROM (
  SELECT 'calls' AS k, count(*) AS n FROM field_reports WHERE organization_id = $1 AND action_id = $2
  UNION ALL SELECT 'outcome:' || outcome, count(*) FROM field_reports
            WHERE organization_id = $1 AND action_id = $2 GROUP BY outcome
  UNION ALL SELECT 'reached', count(*) FROM field_reports
            WHERE organization_id = $1 AND action_id = $2 AND outcome IN ('answered', 'opened')
  UNION ALL SELECT 'mobilized', count(*) FROM field_reports
            WHERE organization_id = $1 AND action_id = $2 AND mobilized
  UNION ALL SELECT 'support:' || c.support_level, count(*) FROM field_reports r
            JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id
            WHERE r.organization_id = $1 AND r.action_id = $2 AND r.outcome IN ('answered', 'opened')
              AND c.support_level IS NOT NULL GROUP BY c.support_level) s
WHERE n > 0
ON CONFLICT (organization_id, action_id, key, shard) DO UPDATE SET value = excluded.value
"""


async def seed_outcomes(ctx: Ctx, action_id: str, n: int) -> None:
    conn = await ctx.su()
    try:
        await conn.execute("SET session_replication_role = replica")  # bulk seed: skip FK triggers
        await conn.execute(SEED_REPORTS, ctx.org_id, action_id, n)
        await conn.execute(SEED_COUNTERS, ctx.org_id, action_id)
        await conn.execute("ANALYZE field_reports; ANALYZE action_counters; ANALYZE action_targets")
    finally:
        await conn.close()


async def bare_stats(ctx: Ctx, conn: Any, action_id: str) -> tuple[dict[str, int], float]:
    t = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", ctx.org_id)
        rows = await conn.fetch(BARE_STATS, ctx.org_id, action_id)
    ms = (time.perf_counter() - t) * 1000
    out = {f"outcome:{r['outcome']}": int(r["n"]) for r in rows}
    out["calls"] = sum(int(r["n"]) for r in rows)
    out["mobilized"] = sum(int(r["mobilized"]) for r in rows)
    out["targets"] = int(rows[0]["targets"]) if rows else 0
    return out, ms


class StatsPoller:
    """Polls GET /actions/{id}/stats and the bare GROUP BY side by side while the calling load runs."""

    def __init__(self, ctx: Ctx, base_url: str, token: str, action_id: str) -> None:
        self.ctx, self.base_url, self.token, self.action_id = ctx, base_url, token, action_id
        self.app_ms: list[float] = []
        self.bare_ms: list[float] = []
        self.stop = asyncio.Event()
        self.errors: list[str] = []

    async def app_stats(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        t = time.perf_counter()
        try:
            r = await client.get(f"/api/v1/actions/{self.action_id}/stats")
        except httpx.HTTPError as e:
            self.errors.append(f"{e.__class__.__name__}: {e}")
            return None
        if r.status_code != 200:
            self.errors.append(f"{r.status_code}: {r.text[:200]}")
            return None
        self.app_ms.append((time.perf_counter() - t) * 1000)
        return dict(r.json())

    async def run(self) -> None:
        conn = await self.ctx.app_conn()
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
            ) as client:
                while not self.stop.is_set():
                    await self.app_stats(client)
                    _, ms = await bare_stats(self.ctx, conn, self.action_id)
                    self.bare_ms.append(ms)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), 1.0)
        finally:
            await conn.close()

    async def freshness(self) -> tuple[float | None, dict[str, Any]]:
        """After the load stops: seconds until the endpoint's calls/outcomes equal the recount (None: > 5 s)."""
        conn = await self.ctx.app_conn()
        t0 = time.perf_counter()
        last: dict[str, Any] = {}
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
            ) as client:
                while time.perf_counter() - t0 < 5:
                    ref, _ = await bare_stats(self.ctx, conn, self.action_id)
                    got = await self.app_stats(client)
                    if got is not None:
                        outs = {f"outcome:{k}": v for k, v in (got.get("outcomes") or {}).items()}
                        last = {"app_calls": got.get("calls"), "bare_calls": ref["calls"]}
                        if got.get("calls") == ref["calls"] and all(
                            outs.get(k, 0) == v for k, v in ref.items() if k.startswith("outcome:")
                        ):
                            return time.perf_counter() - t0, last
                    await asyncio.sleep(0.2)
        finally:
            await conn.close()
        return None, last


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
    tx = sum(
        int(r["calls"])
        for r in rows
        if r["query"].strip().lower().split(" ")[0] in ("begin", "commit", "rollback", "savepoint", "release")
    )
    return {"total": total, "transaction_control": tx, "sql": total - tx}


async def measure(
    ctx: Ctx, server: Server, setup: dict[str, Any], action: str, seconds: float, poll_stats: bool = False
) -> tuple[LoadResult, dict[str, int] | None]:
    await server.start()
    poller: StatsPoller | None = None
    task: asyncio.Task[None] | None = None
    try:
        tokens = setup["tokens"]
        # warm-up (connections, prepared statements), not measured
        await run_load(
            server.url,
            tokens[: max(4, len(tokens) // 4)],
            setup["actions"][action],
            0.5 if ctx.smoke else 3.0,
            survey=setup["survey"],
            opp_type=setup["opp_type"],
            seed=7,
        )
        await statements(ctx, reset=True)
        if poll_stats:
            poller = StatsPoller(ctx, server.url, ctx.users("manager")[0]["token"], setup["actions"][action])
            task = asyncio.create_task(poller.run())
        res = await run_load(
            server.url,
            tokens,
            setup["actions"][action],
            seconds,
            survey=setup["survey"],
            opp_type=setup["opp_type"],
            seed=11,
        )
        st = await statements(ctx)
        if poller is not None and task is not None:
            poller.stop.set()
            await task
            fresh_s, last = await poller.freshness()
            ctx.extra["dashboard"] = {
                "app_ms": poller.app_ms,
                "bare_ms": poller.bare_ms,
                "fresh_s": fresh_s,
                "last": last,
                "errors": poller.errors,
                "targets": setup["targets"],
                "outcomes": setup["outcomes"],
            }
    finally:
        await server.stop()
    return res, st


async def run(ctx: Ctx) -> list[Row]:
    n_vol = 20 if ctx.smoke else 200
    seconds = 2.0 if ctx.smoke else 30.0
    workers = 2 if ctx.smoke else WORKERS
    metric = f"calling loop, {n_vol} volunteers, {workers} uvicorn workers (next → start → report)"
    bar = ">= 0.6x bare throughput; p99 <= 150 ms; 0 errors"
    async with ctx.asgi_client() as (app, _client):
        missing = [p for m, p in PATHS if not has_route(app, p, m)]
    n_targets = 2_000 if ctx.smoke else 200_000
    setup = await setup_calling(ctx, n_vol, n_targets)
    # The dashboard workload: half of the targets already called (100k outcomes at full size), counters in place.
    setup["targets"] = min(setup["counts"].values())
    setup["outcomes"] = setup["targets"] // 2
    for aid in setup["actions"].values():
        await seed_outcomes(ctx, aid, setup["outcomes"])
    # Simulated volunteers call far faster than people: lift the per-volunteer reveal limit (20/min) for the run.
    env = {**ctx.services.env(ctx.db), "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000"}
    bare_env = {**env, "BARE_DSN": ctx.services.dsn(ctx.db, superuser=False)}
    bare, bare_st = await measure(ctx, Server("bench.bare_app:app", bare_env, workers), setup, "bare", seconds)
    b = bare.summary()
    calls_b = max(1, bare.requests)
    st_note = (
        (
            f"; {bare_st['sql'] / calls_b:.1f} SQL (+{bare_st['transaction_control'] / calls_b:.1f} BEGIN/COMMIT)"
            " per API call"
        )
        if bare_st
        else ""
    )
    rows = [
        Row(
            "calling",
            f"bare Starlette + asyncpg, {n_vol} volunteers",
            b["steps_per_s"],
            None,
            "steps/s",
            None,
            "reference",
            None,
            f"p50 {b['p50_ms']:.0f} ms, p99 {b['p99_ms']:.0f} ms, {b['errors']} errors, {b['steps']:,} steps in "
            f"{b['seconds']:.0f}s{st_note}",
            {"bare": b, "bare_statements": bare_st},
        )
    ]
    if missing:
        rows.append(
            unavailable(
                "calling",
                metric,
                f"{', '.join(missing)} not in the API",
                reference=b["steps_per_s"],
                unit="steps/s",
                bar=bar,
            )
        )
        return rows
    real, real_st = await measure(
        ctx, Server("app.main:create_app", env, workers, factory=True), setup, "app", seconds, poll_stats=True
    )
    a = real.summary()
    ratio = a["steps_per_s"] / b["steps_per_s"] if b["steps_per_s"] else None
    ok = bool(ratio is not None and ratio >= 0.6 and a["p99_ms"] <= 150 and a["errors"] == 0 and a["steps"] > 0)
    rows.append(
        Row(
            "calling",
            metric,
            a["steps_per_s"],
            b["steps_per_s"],
            "steps/s",
            ratio,
            bar,
            ok,
            f"p50 {a['p50_ms']:.0f} ms, p99 {a['p99_ms']:.0f} ms, {a['errors']} errors "
            f"{a['error_samples'][:1]}, {a['steps']:,} steps",
            {"app": a, "bare": b},
            correct=a["errors"] == 0 and a["steps"] > 0,
        )
    )
    if real_st:
        per_call = real_st["sql"] / max(1, real.requests)
        rows.append(
            Row(
                "calling",
                "SQL statements per API call (pg_stat_statements)",
                per_call,
                bare_st["sql"] / calls_b if bare_st else None,
                "",
                None,
                "<= 6 per step",
                per_call <= 6,
                f"+{real_st['transaction_control'] / max(1, real.requests):.1f} BEGIN/COMMIT per call",
                {"app": real_st, "bare": bare_st},
                correct=per_call <= 6,
            )
        )
    else:
        rows.append(
            unavailable("calling", "SQL statements per API call", "pg_stat_statements not loaded", bar="<= 6 per step")
        )
    return rows
