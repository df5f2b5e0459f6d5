"""Organization dashboard: GET /api/v1/dashboard over SIZE contacts and SIZE reports (spread over two weeks), warm,
through the real app in-process (ASGI); reports another workload left (calling) count towards SIZE, the rest are
seeded, and the row names the counts measured. All time (the live counters plus the scans that have no counter), the
last 7 days, and today; plus the volunteers' leaderboard. Correct when the figures equal a bare count.

Each variant's statements are captured as the app sends them and EXPLAIN ANALYZEd as the app role (RLS on): the
row names the slowest and any sequential scan of a big table; a sequential scan of the reports for a bounded
day (one fourteenth of the reports, from 10k reports up) fails the row: the period indexes, or a rollup, must
serve it. (Over half the reports, last 7 days, a scan is what the planner should pick: reported, not judged.)"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event

from bench.context import Ctx, Timer, has_route
from bench.report import Row, median, unavailable

SEED = """
WITH a AS (
  INSERT INTO actions (organization_id, id, type, title, status)
  VALUES ($1, gen_random_uuid(), 'call', 'Bench: org dashboard', 'active') RETURNING id),
t AS (
  INSERT INTO action_targets (organization_id, action_id, contact_id, assignee_user_id, status, attempts,
                              last_outcome, seq)
  SELECT $1, a.id, c.id, ($2::uuid[])[1 + (c.n % cardinality($2::uuid[]))],
         CASE WHEN c.n % 3 = 0 THEN 'pending' ELSE 'done' END, 1,
         (ARRAY['answered','absent','refused','answered','opened','not_home'])[1 + c.n % 6], c.n
  FROM a, (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts WHERE organization_id = $1 LIMIT $3) c
  RETURNING id, action_id, contact_id, assignee_user_id, last_outcome, seq)
INSERT INTO field_reports (organization_id, id, kind, action_id, target_id, contact_id, user_id, outcome, mobilized,
                           request_hash, response, created_at, recorded_at)
SELECT $1, gen_random_uuid(), CASE WHEN last_outcome IN ('opened', 'not_home') THEN 'visit' ELSE 'call' END,
       action_id, id, contact_id, assignee_user_id, last_outcome, last_outcome = 'answered' AND seq % 4 = 0,
       md5(id::text), '{}'::jsonb, w.at, w.at
FROM t, LATERAL (SELECT now() - (seq % 14) * interval '1 day' - (seq % 24) * interval '1 hour' AS at) w
"""
# Every action's counters level with its reports: the seeded action has none, and the calling workload's bare
# reference app writes reports without counters. Shard 0 takes the difference, the live shards stay as they are.
COUNTERS = """
INSERT INTO action_counters (organization_id, action_id, key, shard, value)
SELECT $1, s.action_id, s.k, 0, s.n - coalesce((
         SELECT sum(c.value) FROM action_counters c
         WHERE c.organization_id = $1 AND c.action_id = s.action_id AND c.key = s.k AND c.shard <> 0), 0)
FROM (
  SELECT action_id, kind || 's' AS k, count(*) AS n FROM field_reports WHERE organization_id = $1 GROUP BY 1, 2
  UNION ALL SELECT action_id, 'outcome:' || outcome, count(*) FROM field_reports WHERE organization_id = $1
            GROUP BY 1, 2
  UNION ALL SELECT action_id, 'reached', count(*) FROM field_reports
            WHERE organization_id = $1 AND outcome IN ('answered', 'opened') GROUP BY 1
  UNION ALL SELECT action_id, 'mobilized', count(*) FROM field_reports WHERE organization_id = $1 AND mobilized
            GROUP BY 1) s
ON CONFLICT (organization_id, action_id, key, shard) DO UPDATE SET value = excluded.value
"""
BARE = (
    "SELECT count(*) FILTER (WHERE kind = 'call'), count(*) FILTER (WHERE kind = 'visit') FROM field_reports "
    "WHERE organization_id = $1 AND recorded_at >= $2"  # HQ's figures count a report when it was recorded
)


BIG = ("field_reports", "survey_answers", "opportunities", "contacts", "consent_log", "action_targets")


def _scans(plan: Any, out: list[str]) -> list[str]:
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in BIG:
            out.append(plan["Relation Name"])
        for v in plan.values():
            _scans(v, out)
    elif isinstance(plan, list):
        for v in plan:
            _scans(v, out)
    return out


async def explain(ctx: Ctx, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of each captured SELECT, as the app role in the organization's scope."""
    conn = await ctx.app_conn()
    out: list[dict[str, Any]] = []
    try:
        for sql, params in statements:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.organization_id', $1, true)", ctx.org_id)
                raw = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *(params or ()))
            plan = json.loads(raw) if isinstance(raw, str) else raw
            out.append(
                {
                    "sql": " ".join(sql.split())[:90],
                    "ms": round(plan[0]["Execution Time"], 1),
                    "seq_scans": _scans(plan, []),
                }
            )
    finally:
        await conn.close()
    return sorted(out, key=lambda x: -x["ms"])


def plan_note(plans: list[dict[str, Any]]) -> str:
    if not plans:
        return ""
    top = plans[0]
    scans = sorted({f"{t}" for p in plans for t in p["seq_scans"]})
    note = f"; {len(plans)} statements, slowest {top['ms']:.0f} ms: {top['sql'][:60]}"
    return note + (f"; seq scans of {', '.join(scans)}" if scans else "; no seq scan of a big table")


async def seed(ctx: Ctx) -> tuple[int, int]:
    """Reports up to SIZE (another workload's reports count towards it); returns (contacts, reports) as measured."""
    conn = await ctx.su()
    try:
        have = await conn.fetchval("SELECT count(*) FROM field_reports WHERE organization_id = $1", ctx.org_id)
        if have < ctx.size:
            await conn.execute("SET session_replication_role = replica")
            vols = [u["id"] for u in ctx.users("volunteer")] or [u["id"] for u in ctx.users("admin")]
            await conn.execute(SEED, ctx.org_id, vols, ctx.size - have)
            await conn.execute(  # what targeting keeps on the action, which the figures read as its total
                "UPDATE actions a SET target_count = (SELECT count(*) FROM action_targets t"
                " WHERE t.organization_id = a.organization_id AND t.action_id = a.id)"
                " WHERE a.organization_id = $1 AND a.title = 'Bench: org dashboard'",
                ctx.org_id,
            )
            # the seed's inserts fired no trigger (replica): the dashboard's rollups are recounted from the rows
            await conn.execute("SET session_replication_role = origin")
            await conn.execute("SELECT gg_dashboard_rollups_rebuild($1)", ctx.org_id)
        await conn.execute(COUNTERS, ctx.org_id)
        await conn.execute(
            "ANALYZE field_reports; ANALYZE action_targets; ANALYZE action_counters; ANALYZE report_rollups;"
            " ANALYZE survey_rollups; ANALYZE contact_reach; ANALYZE reach_rollups; ANALYZE target_rollups"
        )
        contacts = await conn.fetchval("SELECT count(*) FROM contacts WHERE organization_id = $1", ctx.org_id)
        reports = await conn.fetchval("SELECT count(*) FROM field_reports WHERE organization_id = $1", ctx.org_id)
        return int(contacts), int(reports)
    finally:
        await conn.close()


async def run(ctx: Ctx) -> list[Row]:
    bar = "<= 200 ms warm"
    metric = f"org dashboard ({ctx.size:,} contacts, {ctx.size:,} reports)"
    async with ctx.asgi_client() as (app, client):
        if not has_route(app, "/api/v1/dashboard", "get"):
            return [unavailable("org_dashboard", metric, "GET /api/v1/dashboard does not exist", bar=bar)]
        contacts, reports = await seed(ctx)
        metric = f"org dashboard ({contacts:,} contacts, {reports:,} reports)"
        conn = await ctx.su()
        try:
            since = await conn.fetchval("SELECT now() - interval '7 days'")
            bare_calls, bare_visits = await conn.fetchrow(BARE, ctx.org_id, since)
            ever = await conn.fetchval("SELECT '-infinity'::timestamptz")
            all_calls, all_visits = await conn.fetchrow(BARE, ctx.org_id, ever)
            today = await conn.fetchval(
                "SELECT (now() AT TIME ZONE o.timezone)::date FROM organizations o WHERE o.id = $1", ctx.org_id
            )
        finally:
            await conn.close()
        variants: list[tuple[str, str, dict[str, Any], tuple[int, int] | None]] = [
            ("all time", "/api/v1/dashboard", {}, (int(all_calls), int(all_visits))),
            ("last 7 days", "/api/v1/dashboard", {"from": since.isoformat()}, (int(bare_calls), int(bare_visits))),
            ("today, hourly", "/api/v1/dashboard", {"from": today.isoformat(), "bucket": "hour"}, None),
            ("leaderboard, 7 days", "/api/v1/dashboard/leaderboard", {"from": since.isoformat()}, None),
        ]
        rows: list[Row] = []
        captured: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")) and "gg_authenticate" not in sql:
                captured.append((sql, params))

        engine = app.state.engine.sync_engine
        for label, path, params, expect in variants:
            ms: list[float] = []
            body: dict[str, Any] = {}
            err = ""
            for i in range(ctx.reps(7, 3) + 2):
                if i == 1:
                    event.listen(engine, "before_cursor_execute", record)
                t = Timer()
                r = await client.get(path, params=params)
                if i == 1:
                    event.remove(engine, "before_cursor_execute", record)
                if r.status_code != 200:
                    err = f"{r.status_code}: {r.text[:200]}"
                    break
                if i >= 2:
                    ms.append(t.ms)
                body = r.json()
            if err:
                rows.append(Row("org_dashboard", f"{metric}: {label}", None, None, "ms", None, bar, False, err))
                continue
            plans = await explain(ctx, captured)
            captured.clear()
            judged = label.startswith("today") and reports >= 10_000
            plans_ok = not (judged and any("field_reports" in p["seq_scans"] for p in plans))
            got = (body.get("calls_made"), body.get("doors_knocked")) if expect else None
            correct = got == expect if expect else None
            a = median(ms)
            note = (f"calls/doors {got} (bare {expect})" if expect else "") + plan_note(plans)
            rows.append(
                Row(
                    "org_dashboard",
                    f"{metric}: {label}",
                    a,
                    None,
                    "ms",
                    None,
                    bar + ("; no seq scan of the reports" if judged else ""),
                    a <= 200 and correct is not False and plans_ok,
                    note.lstrip("; "),
                    {"ms": ms, "plans": plans},
                    correct=correct,
                )
            )
        return rows
