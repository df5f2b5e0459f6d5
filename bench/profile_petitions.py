"""Where one petition signature's time goes, one request at a time in process: SQL statements (and round trips)
per signature and the server's CPU per signature (process time: the test client's share included, PostgreSQL's
not), through POST /p/{slug}/sign.json from a distinct IP each time, as the bench signs.

    .venv/bin/python -m bench.profile_petitions [signatures] [--sql] [--profile]

A throwaway PostgreSQL and Redis (as the tests use), migrated; the real app behind httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from typing import Any

N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300
SHOW_SQL = "--sql" in sys.argv
TX_CONTROL = ("begin", "commit", "rollback", "savepoint", "release")


def _kind(stmt: str) -> str:
    return stmt.strip().split(None, 1)[0].lower() if stmt.strip() else ""


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
                "TRUST_PROXY_HEADERS": "true",
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
    from app.petitions.signing import form_token
    from tests.fixtures.factories import make_actor, make_org

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        seen: list[str] = []

        @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
        def _count(_c: Any, _cur: Any, stmt: str, *_a: Any) -> None:
            seen.append(stmt)

        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            async with app.state.sessionmaker() as db:
                org = await make_org(db)
                admin = await make_actor(db, org, "admin")
                await db.commit()
            body = {
                "slug": f"prof-{uuid.uuid4().hex[:8]}",
                "title": "Bench petition",
                "consent_wording": {"email": "Keep me informed by email."},
                "tags": ["bench-petition"],
                "status": "open",
            }
            r = await client.post("/api/v1/petitions", json=body, headers=admin.headers)
            assert r.status_code == 201, r.text
            petition = r.json()
            token = form_token(settings.secret_key.get_secret_value(), uuid.UUID(petition["id"]), time.time() - 30)
            run = [0]

            async def sign(i: int, measure: bool) -> tuple[int, int, float, float]:
                b = {
                    "first_name": f"Signer{i}",
                    "email": f"signer{i}@bench.example",
                    "consents": ["email"],
                    "form_token": token,
                }
                ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                seen.clear()
                c0, w0 = time.process_time(), time.perf_counter()
                res = await client.post(f"/p/{petition['slug']}/sign.json", json=b, headers={"x-forwarded-for": ip})
                cpu, wall = (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000
                assert res.status_code == 202, res.text
                sql = [s for s in seen if _kind(s) not in TX_CONTROL]
                if SHOW_SQL and measure and not run[0]:
                    run[0] = 1
                    print(f"--- sign: {len(sql)} statements")
                    for s in seen:
                        print("   ", " ".join(s.split())[: None if os.environ.get("FULL_SQL") else 300])
                return len(sql), len(seen), cpu, wall

            for i in range(20):
                await sign(100_000 + i, False)
            if os.environ.get("ECHO"):  # which statements compile again on every signature (not cached)
                import logging

                logging.basicConfig()
                logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
                await sign(200_000, False)
                logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
            # The floor: a request that does nothing (the same client, middleware and routing).
            health = []
            for _ in range(200):
                c0 = time.process_time()
                await client.get("/healthz")
                health.append((time.process_time() - c0) * 1000)
            print(f"GET /healthz: cpu {statistics.median(health):.2f} ms (median)")
            stats = []
            if "--profile" in sys.argv:
                import cProfile
                import pstats

                prof = cProfile.Profile(time.process_time)
                prof.enable()
                for i in range(N):
                    stats.append(await sign(i, True))
                prof.disable()
                by: dict[str, float] = {}
                for (file, _line, _fn), (_cc, _nc, tt, _ct, _callers) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
                    key = (
                        file.split("site-packages/")[-1].split("/")[0]
                        if "site-packages" in file
                        else (
                            "app/" + file.split("/app/")[-1].split("/")[0] if "/app/" in file else file.split("/")[-1]
                        )
                    )
                    by[key] = by.get(key, 0.0) + tt
                for k, v in sorted(by.items(), key=lambda kv: -kv[1])[:25]:
                    print(f"    {v * 1000 / N:7.2f} ms/signature (profiled)  {k}")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(60)
                pstats.Stats(prof).sort_stats("tottime").print_stats("sqlalchemy", 25)
                pstats.Stats(prof).print_callers("elements.py:325")
                pstats.Stats(prof).print_callers("coercions.py.*expect")
                pstats.Stats(prof).sort_stats("tottime").print_stats(30)
                pstats.Stats(prof).sort_stats("cumulative").print_stats("petitions4/app", 60)
                pstats.Stats(prof).print_callers("compiler.py:1450")
            else:
                for i in range(N):
                    stats.append(await sign(i, True))
            walls = sorted(s[3] for s in stats)
            cpu = statistics.median(s[2] for s in stats)
            p99 = walls[min(len(walls) - 1, int(len(walls) * 0.99))]
            sql, rt = statistics.mean(s[0] for s in stats), statistics.mean(s[1] for s in stats)
            print(
                f"{N} signatures, per signature: cpu {cpu:.2f} ms (median)  wall {statistics.median(walls):.2f} ms"
                f" (p99 {p99:.1f})  sql {sql:.2f}  round trips {rt:.2f}"
            )


if __name__ == "__main__":
    main()
