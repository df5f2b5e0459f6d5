"""Calling capacity: open-loop Poisson arrivals of steps (a simulated volunteer doing next → start → report with
survey, comment, opportunity) at rising rates, from a load generator in its own process (bench/driver.py), against
the API under uvicorn with several workers (as in production) and against the bare Starlette + asyncpg app
(bench/bare_app.py, its plans checked) doing the same statements as the same role under RLS, in the same run.
Capacity is the highest rate with p99 <= 150 ms and 0 errors (bench/capacity.py); also reported as volunteers per
core on 1-minute calls, with a 3x burst, SQL statements per call (pg_stat_statements) and the client's CPU.

Alone: `python -m bench.run --only calling,dashboard` (SIZE / --size scale the data; BENCH_CALLING_PHASE_S the
seconds per rate)."""

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

from bench import capacity
from bench.context import Ctx, has_route
from bench.loadgen import Server
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
        await conn.execute("SET session_replication_role = origin")  # the seed fired no trigger: recount the rollups
        await conn.execute("SELECT gg_dashboard_rollups_rebuild($1)", ctx.org_id)
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
    """Polls GET /actions/{id}/stats, then the bare GROUP BY, each once a second, while the calling load runs: the
    endpoint in the first half of the load's phase, the recount in the second. One bare recount costs most of a
    second of a core at full size: polled beside the endpoint, it is the recount's own load that the endpoint's
    figure would measure, on a machine already at its calling capacity."""

    def __init__(self, ctx: Ctx, base_url: str, token: str, action_id: str, seconds: float) -> None:
        self.ctx, self.base_url, self.token, self.action_id = ctx, base_url, token, action_id
        self.seconds = seconds
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
                await self.app_stats(client)  # warm-up, not measured: the connection, the token, the statements
                await bare_stats(self.ctx, conn, self.action_id)
                self.app_ms.clear()
                switch = time.perf_counter() + self.seconds / 2
                while not self.stop.is_set():
                    if time.perf_counter() < switch:
                        await self.app_stats(client)
                    else:
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
                        # Every figure the recount has: calls, each outcome, mobilized, targets.
                        mine = {f"outcome:{k}": v for k, v in (got.get("outcomes") or {}).items() if v}
                        mine |= {k: got.get(k) for k in ("calls", "mobilized", "targets")}
                        want = {k: v for k, v in ref.items() if v or not k.startswith("outcome:")}
                        last = {"app": mine, "bare": want}
                        if mine == want:
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


def phase_seconds(ctx: Ctx) -> float:
    if "BENCH_CALLING_PHASE_S" in os.environ:
        return float(os.environ["BENCH_CALLING_PHASE_S"])
    return 1.0 if ctx.smoke else (15.0 if ctx.size >= 200_000 else 5.0)


def log(msg: str) -> None:
    print(f"[calling] {msg}", flush=True)


async def side(
    ctx: Ctx, server: Server, setup: dict[str, Any], label: str, *, dashboard: bool = False
) -> dict[str, Any]:
    """Start the server, warm it up, search its capacity (pg_stat_statements over the search), burst at the
    capacity rate, and (API side) poll the dashboard at that rate."""
    phase_s = phase_seconds(ctx)
    await server.start()
    try:
        base = {
            "url": server.url,
            "action_id": setup["actions"][label],
            "tokens": setup["tokens"],
            "survey": setup["survey"],
            "opp_type": setup["opp_type"],
        }
        # warm-up (connections, prepared statements, caches), not measured
        await capacity.drive({**base, "phases": [{"rate": 20, "seconds": 0.5 if ctx.smoke else 3.0}], "seed": 0})
        await statements(ctx, reset=True)
        log(f"{label}: capacity search, {phase_s:.0f}s per rate")
        found = await capacity.search(base, phase_s, log)
        found["statements"] = await statements(ctx)
        found["requests"] = sum(ph["requests"] for ph in found["phases"])
        rate = found["capacity"]
        if dashboard:  # before the burst, once the search's last (failed) rate has drained
            found["settled_s"] = await settle(server.url, setup["tokens"][0])
            await poll_dashboard(ctx, server, setup, base, max(rate, capacity.START_RATE), phase_s)
        if rate and not ctx.smoke:
            found["burst"] = await capacity.burst(base, rate, log)
    finally:
        await server.stop()
    return found


async def settle(url: str, token: str, limit_s: float = 60.0) -> float:
    """Seconds until the server answers an authenticated read within 50 ms three times in a row (what an
    overloaded phase left queued has drained), at most `limit_s`."""
    t0 = time.perf_counter()
    fast = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        while fast < 3 and time.perf_counter() - t0 < limit_s:
            t = time.perf_counter()
            r = await client.get("/api/v1/me")
            fast = fast + 1 if r.status_code == 200 and time.perf_counter() - t < 0.05 else 0
            await asyncio.sleep(0.2)
    return time.perf_counter() - t0


async def poll_dashboard(
    ctx: Ctx, server: Server, setup: dict[str, Any], base: dict[str, Any], rate: float, phase_s: float
) -> None:
    """The stats endpoint and the bare GROUP BY polled side by side while the load runs at `rate`; then how long
    until the endpoint equals the recount (the dashboard workload reports it)."""
    seconds = 3.0 if ctx.smoke else max(15.0, 2 * phase_s)
    poller = StatsPoller(ctx, server.url, ctx.users("manager")[0]["token"], base["action_id"], seconds)
    task = asyncio.create_task(poller.run())
    try:
        (load,) = await capacity.drive({**base, "phases": [{"rate": rate, "seconds": seconds}], "seed": 77})
    finally:
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
        "load": load,
    }


def per_call(st: dict[str, int] | None, requests: int) -> str:
    if not st:
        return ""
    n = max(1, requests)
    return f"; {st['sql'] / n:.1f} SQL (+{st['transaction_control'] / n:.1f} BEGIN/COMMIT) per call"


def describe(found: dict[str, Any]) -> str:
    ph = found["at_capacity"]
    if ph is None:
        first = found["phases"][0] if found["phases"] else {}
        return f"no rate held: p99 {first.get('p99_ms', float('nan')):.0f} ms, {first.get('error_samples', [])[:1]}"
    out = (
        f"at {ph['rate']:.0f} steps/s: p50 {ph['p50_ms']:.0f} ms, p99 {ph['p99_ms']:.0f} ms, {ph['errors']} errors, "
        f"client {ph['client_cpu_ms_per_step']:.2f} ms CPU/step"
    )
    b = found.get("burst")
    if b:
        out += (
            f"; 3x burst: p99 {b['burst']['p99_ms']:.0f} ms, {b['burst']['errors']} errors, "
            f"after: p99 {b['after']['p99_ms']:.0f} ms"
        )
    fails = [p for p in found["phases"] if not capacity.holds(p)]
    if fails:
        f = fails[0]
        out += f"; {f['rate']:.0f} steps/s failed (p99 {f['p99_ms']:.0f} ms, {f['errors']} errors"
        out += f" {f['error_samples'][:1]})"
    return out


def volunteers_per_core(rate: float) -> float:
    """1-minute calls: a volunteer makes one step a minute, so `rate` steps/s serve rate x 60 volunteers."""
    return rate * 60 / (os.cpu_count() or 1)


async def run(ctx: Ctx) -> list[Row]:
    n_vol = 20 if ctx.smoke else 200
    workers = 2 if ctx.smoke else WORKERS
    metric = f"calling capacity, {workers} uvicorn workers (open loop, p99 <= 150 ms, 0 errors)"
    bar = ">= 0.6x the bare app's capacity"
    async with ctx.asgi_client() as (app, _client):
        missing = [p for m, p in PATHS if not has_route(app, p, m)]
    n_targets = 2_000 if ctx.smoke else min(200_000, ctx.size)
    setup = await setup_calling(ctx, n_vol, n_targets)
    # The dashboard workload: half of the targets already called (100k outcomes at full size), counters in place;
    # a quarter below full size, so a small run keeps people to call.
    setup["targets"] = min(setup["counts"].values())
    setup["outcomes"] = setup["targets"] // (2 if ctx.size >= 200_000 else 4)
    for aid in setup["actions"].values():
        await seed_outcomes(ctx, aid, setup["outcomes"])
    conn = await ctx.app_conn()
    try:
        plans = await capacity.check_bare_plans(
            conn, ctx.org_id, setup["actions"]["bare"], ctx.users("volunteer")[0]["id"]
        )
    finally:
        await conn.close()
    rows = [
        Row(
            "calling",
            "bare app plans (EXPLAIN as the app role, RLS on)",
            len(plans["seq_scans_of_action_targets"]),
            None,
            "seq scans of action_targets",
            None,
            "0",
            plans["ok"],
            "; ".join(plans["seq_scans_of_action_targets"]) or "index scans only",
            plans,
            correct=plans["ok"],
        )
    ]
    # Simulated volunteers call far faster than people: lift the per-volunteer reveal limit (20/min) for the run.
    env = {**ctx.services.env(ctx.db), "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000"}
    bare_env = {**env, "BARE_DSN": ctx.services.dsn(ctx.db, superuser=False)}
    bare = await side(ctx, Server("bench.bare_app:app", bare_env, workers), setup, "bare")
    b = bare["capacity"]
    rows.append(
        Row(
            "calling",
            f"bare Starlette + asyncpg capacity, {workers} workers",
            b,
            None,
            "steps/s",
            None,
            "reference",
            None,
            describe(bare) + per_call(bare["statements"], bare["requests"]),
            bare,
        )
    )
    if missing:
        rows.append(
            unavailable("calling", metric, f"{', '.join(missing)} not in the API", reference=b, unit="steps/s", bar=bar)
        )
        return rows
    api = await side(ctx, Server("app.main:create_app", env, workers, factory=True), setup, "app", dashboard=True)
    a = api["capacity"]
    ratio = a / b if b else None
    ok = bool(ratio is not None and ratio >= 0.6 and api["at_capacity"] is not None)
    rows.append(
        Row(
            "calling",
            metric,
            a,
            b,
            "steps/s",
            ratio,
            bar,
            ok and plans["ok"],
            describe(api) + f"; {volunteers_per_core(a):,.0f} volunteers per core on 1-minute calls "
            f"(bare: {volunteers_per_core(b):,.0f})",
            api,
            correct=api["at_capacity"] is not None,
        )
    )
    st = api["statements"]
    if st:
        n = st["sql"] / max(1, api["requests"])
        rows.append(
            Row(
                "calling",
                "SQL statements per API call (pg_stat_statements, over the search)",
                n,
                bare["statements"]["sql"] / max(1, bare["requests"]) if bare["statements"] else None,
                "",
                None,
                "informational (the lever: 1-2 per call on the hot path)",
                None,
                f"+{st['transaction_control'] / max(1, api['requests']):.1f} BEGIN/COMMIT per call",
                {"app": st, "bare": bare["statements"]},
            )
        )
    return rows
