"""Where a calling step's time goes, one request at a time in process: SQL statements (and round trips) per
request and the server's CPU per request (process time: the test client's share included, PostgreSQL's not),
for next → start → report with the bench's report bodies (survey, comment, opportunities).

    .venv/bin/python -m bench.profile_calling [steps] [--sql] [--calls] [--profile]

A throwaway PostgreSQL and Redis (as the tests use), migrated; the real app behind httpx's ASGI transport with
the token cache on. `--sql` prints the statements of one step of each kind."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300
SHOW_SQL = "--sql" in sys.argv  # --profile: cProfile (process time) over the steps
COUNT_CALLS = "--calls" in sys.argv
BREAKDOWN = os.environ.get("BREAKDOWN")  # with --calls: where one kind's Python calls go (by package, function)
where: dict[str, int] = defaultdict(int)  # report thousands of Python function calls per request instead of CPU ms
TX_CONTROL = ("begin", "commit", "rollback", "savepoint", "release")


def _kind(stmt: str) -> str:
    return stmt.strip().split(None, 1)[0].lower() if stmt.strip() else ""


async def _setup(client: Any, db: Any, n_contacts: int, n_vols: int) -> dict[str, Any]:
    from bench.wl_calling import QUESTIONS
    from tests.fixtures.contacts import insert_contacts
    from tests.fixtures.factories import make_actor, make_org

    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    vols = [await make_actor(db, org, "volunteer") for _ in range(n_vols)]
    rnd = random.Random(7)
    await insert_contacts(
        db, org.id, [(rnd.uniform(26.0, 26.1), rnd.uniform(44.4, 44.5)) for _ in range(n_contacts)], tags=["bank"]
    )
    await db.commit()
    h = manager.headers
    survey = await client.post("/api/v1/surveys", headers=h, json={"title": "Bench", "questions": QUESTIONS})
    assert survey.status_code == 201, survey.text
    opp = await client.post("/api/v1/opportunity-types", headers=h, json={"name": "Wants to volunteer"})
    assert opp.status_code == 201, opp.text
    action = await client.post(
        "/api/v1/actions",
        headers=h,
        json={
            "type": "call",
            "title": "Bench",
            "filter": {"tags_any": ["bank"]},
            "survey_id": survey.json()["id"],
            "allow_others": True,
            "status": "active",
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(v.user_id) for v in vols]},
        },
    )
    assert action.status_code == 201, action.text
    return {
        "action_id": action.json()["id"],
        "tokens": [v.token for v in vols],
        "survey": {"id": survey.json()["id"]},
        "opp_type": opp.json()["id"],
    }


def main() -> None:
    from app.config import get_settings
    from app.core.migrate import migrate_and_grant
    from tests.conftest import ServicesUnderTest

    svc = ServicesUnderTest()
    try:
        migrate_and_grant(svc.migration_url, svc.app_role, svc.app_password)
        os.environ.update(
            {
                "DATABASE_URL": svc.app_url,
                "MIGRATION_DATABASE_URL": svc.migration_url,
                "REDIS_URL": svc.redis_url,
                "DATA_DIR": str(svc.tmp),
                "AUTH__PRINCIPAL_CACHE_S": "30",
                "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000",
                "LOG_LEVEL": "WARNING",
            }
        )
        get_settings.cache_clear()
        asyncio.run(_serve(get_settings()))
    finally:
        svc.stop()


async def _serve(settings: Any) -> None:
    from httpx import ASGITransport, AsyncClient
    from sqlalchemy import event

    from app.main import create_app
    from bench.loadgen import report_body

    if True:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            for _ in range(50):
                if app.state.principal_cache.listening:
                    break
                await asyncio.sleep(0.1)
            seen: list[str] = []

            @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
            def _count(_c: Any, _cur: Any, stmt: str, *_a: Any) -> None:
                seen.append(stmt)

            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://bench") as client:
                async with app.state.sessionmaker() as db:
                    plan = await _setup(client, db, STEPS + 200, 8)
                if "--profile" in sys.argv:
                    import cProfile
                    import pstats

                    prof = cProfile.Profile(time.process_time)
                    prof.enable()
                    await _run(client, plan, seen, report_body)
                    prof.disable()
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(70)
                    pstats.Stats(prof).sort_stats("tottime").print_stats(40)
                else:
                    await _run(client, plan, seen, report_body)


async def _run(client: Any, plan: dict[str, Any], seen: list[str], report_body: Any) -> None:
    rng = random.Random(3)
    stats: dict[str, list[tuple[int, int, float, float]]] = defaultdict(list)
    shown: set[str] = set()

    async def call(kind: str, url: str, token: str, body: Any = None, measure: bool = True) -> Any:
        seen.clear()
        calls = [0]

        def tick(frame: Any, event: str, _a: Any) -> None:
            if event == "call":
                calls[0] += 1
                if kind == BREAKDOWN and measure:
                    f = frame.f_code.co_filename
                    f = f.split("site-packages/")[-1].split("capacity2/")[-1]
                    where[f"{f.split('/')[0]}/{f.split('/')[1] if '/' in f else ''}"] += 1
                    where[f"{f}:{frame.f_code.co_name}"] += 1
                    up = frame
                    while up is not None and "/app/" not in up.f_code.co_filename:
                        up = up.f_back
                    if up is not None:  # the innermost app function this call happens under
                        where[f"under {up.f_code.co_filename.split('/app/')[-1]}:{up.f_code.co_name}"] += 1

        if COUNT_CALLS:
            sys.setprofile(tick)
        c0, w0 = time.process_time(), time.perf_counter()
        r = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        cpu, wall = (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000
        if COUNT_CALLS:
            sys.setprofile(None)
            cpu = calls[0] / 1000  # thousands of Python calls: a CPU proxy that a busy machine does not blur
        assert r.status_code < 300, (kind, r.status_code, r.text)
        sql = [s for s in seen if _kind(s) not in TX_CONTROL]
        if measure:
            stats[kind].append((len(sql), len(seen), cpu, wall))
        if SHOW_SQL and measure and kind not in shown:
            shown.add(kind)
            print(f"--- {kind}: {len(sql)} statements")
            for s in seen:
                print("   ", " ".join(s.split())[: None if os.environ.get("FULL_SQL") else 300])
        return r.json()

    for i in range(STEPS + 20):
        measure = i >= 20  # warm-up: caches, prepared statements
        token = plan["tokens"][i % len(plan["tokens"])]
        target = await call("next", f"/api/v1/actions/{plan['action_id']}/calls/next", token, measure=measure)
        tid = target["id"]
        await call("start", f"/api/v1/calls/{tid}/start", token, measure=measure)
        body = report_body(rng, plan["survey"], plan["opp_type"])
        await call("report", f"/api/v1/calls/{tid}/report", token, body, measure=measure)
    total_sql = total_rt = 0.0
    total_cpu = 0.0
    print(f"{STEPS} steps, per request (median CPU ms in process, SQL statements, round trips excl. BEGIN/COMMIT):")
    for kind in ("next", "start", "report"):
        rows = stats[kind]
        sql = statistics.mean(r[0] for r in rows)
        rt = statistics.mean(r[1] for r in rows)
        cpu = statistics.median(r[2] for r in rows)
        wall = statistics.median(r[3] for r in rows)
        walls = sorted(r[3] for r in rows)
        p99 = walls[min(len(walls) - 1, int(len(walls) * 0.99))]
        total_sql, total_rt, total_cpu = total_sql + sql, total_rt + rt, total_cpu + cpu
        unit = "k calls" if COUNT_CALLS else "ms"
        print(
            f"  {kind:7s} cpu {cpu:6.2f} {unit}  wall {wall:6.2f} ms (p99 {p99:6.1f})  sql {sql:5.2f}"
            f"  round trips {rt:5.2f}"
        )
    if where:
        for k, v in sorted(where.items(), key=lambda kv: -kv[1])[:60]:
            print(f"    {v / STEPS:8.1f} {k}")
    unit = "k calls" if COUNT_CALLS else "ms"
    print(f"  step    cpu {total_cpu:6.2f} {unit}  sql {total_sql:5.2f}  round trips {total_rt:5.2f}")


if __name__ == "__main__":
    main()
