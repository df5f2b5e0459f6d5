"""`make soak` (R1): 200+ simulated volunteers on shared calling pools for minutes, against uvicorn with several
workers on throwaway PostgreSQL and Redis. The client logs every acknowledged write; at the end: 0 server errors,
every acknowledged report stored exactly once, no contact ever held by two live leases (sampled all along), an
audit row for every phone reveal.

    .venv/bin/python scripts/soak.py [--volunteers 200] [--minutes 3] [--contacts 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from app.core.migrate import migrate_and_grant  # noqa: E402
from app.core.security import hash_password, hash_token  # noqa: E402


async def seed(dsn: str, volunteers: int, contacts: int, pools: int) -> tuple[str, list[str], list[str]]:
    conn = await asyncpg.connect(dsn)
    org = uuid.uuid4()
    await conn.execute("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Soak', $2)", org, f"soak-{org.hex[:6]}")
    pw = hash_password("soak-password-123")
    users = [uuid.uuid4() for _ in range(volunteers + 1)]
    await conn.copy_records_to_table(
        "users",
        records=[(u, f"v{i}@soak.example.org", pw) for i, u in enumerate(users)],
        columns=["id", "email", "password_hash"],
    )
    await conn.copy_records_to_table(
        "memberships",
        records=[(org, u, "manager" if i == 0 else "volunteer") for i, u in enumerate(users)],
        columns=["organization_id", "user_id", "role"],
    )
    tokens = [f"soak_{uuid.uuid4().hex}" for _ in users]
    await conn.executemany(
        "INSERT INTO auth_tokens (token_hash, user_id, organization_id, expires_at) "
        "VALUES ($1, $2, $3, now() + interval '1 day')",
        [(hash_token(t), u, org) for t, u in zip(tokens, users, strict=True)],
    )
    await conn.execute(
        """
        INSERT INTO contacts (organization_id, id, first_name, last_name, mobile_e164, location, tags)
        SELECT $1, gen_random_uuid(), 'P' || g, 'N' || g, '+4072' || lpad(g::text, 7, '0'),
               ST_SetSRID(ST_MakePoint(26 + random() / 10, 44.4 + random() / 10), 4326), ARRAY['soak']
        FROM generate_series(1, $2) g""",
        org,
        contacts,
    )
    actions = []
    for p in range(pools):
        aid = uuid.uuid4()
        actions.append(str(aid))
        await conn.execute(
            "INSERT INTO actions (organization_id, id, type, title, status, max_attempts, "
            "retry_delay_minutes) VALUES ($1, $2, 'call', $3, 'active', 3, 0)",
            org,
            aid,
            f"Pool {p}",
        )
        # Every contact in every pool: the same people are reachable from several actions at once.
        await conn.execute(
            "INSERT INTO action_targets (organization_id, id, action_id, contact_id) "
            "SELECT $1, gen_random_uuid(), $2, id FROM contacts WHERE organization_id = $1",
            org,
            aid,
        )
        await conn.executemany(
            "INSERT INTO action_volunteers (organization_id, action_id, user_id) VALUES ($1, $2, $3)",
            [(org, aid, u) for u in users[1:]],
        )
    await conn.close()
    return str(org), tokens[1:], actions


async def volunteer(
    client: httpx.AsyncClient,
    token: str,
    actions: list[str],
    stop: float,
    log: list[dict[str, str]],
    stats: Counter[str],
) -> None:
    h = {"Authorization": f"Bearer {token}"}
    rnd = random.Random(token)
    while time.monotonic() < stop:
        aid = rnd.choice(actions)
        try:
            nxt = await client.post(f"/api/v1/actions/{aid}/calls/next", headers=h)
            stats[f"next:{nxt.status_code}"] += 1
            if nxt.status_code != 200:
                await asyncio.sleep(0.2)
                continue
            tid = nxt.json()["id"]
            start = await client.post(f"/api/v1/calls/{tid}/start", headers=h)
            stats[f"start:{start.status_code}"] += 1
            if start.status_code != 200:
                continue
            await asyncio.sleep(rnd.uniform(0.05, 0.3))  # on the phone
            body = {
                "id": str(uuid.uuid4()),
                "outcome": rnd.choice(["refused", "absent", "answered", "other"]),
                "outcome_text": "x",
                "comment": "soak",
            }
            for attempt in range(3 if rnd.random() < 0.1 else 1):  # some replays
                rep = await client.post(f"/api/v1/calls/{tid}/report", headers=h, json=body)
                stats[f"report:{rep.status_code}"] += 1
                if rep.status_code == 200 and attempt == 0:
                    log.append({"report_id": body["id"], "target_id": tid})
        except httpx.HTTPError as e:
            stats[f"transport:{type(e).__name__}"] += 1


async def watch_leases(dsn: str, org: str, stop: float, violations: list[str]) -> None:
    conn = await asyncpg.connect(dsn)
    while time.monotonic() < stop:
        rows = await conn.fetch(
            """
            SELECT contact_id FROM action_targets WHERE organization_id = $1 AND lease_expires_at > now()
            GROUP BY contact_id HAVING count(DISTINCT lease_user_id) > 1""",
            uuid.UUID(org),
        )
        violations += [str(r[0]) for r in rows]
        await asyncio.sleep(0.5)
    await conn.close()


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--volunteers", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--contacts", type=int, default=20000)
    ap.add_argument("--pools", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    tmp = ROOT / ".data" / f"soak-{uuid.uuid4().hex[:6]}"
    pg, rd = EmbeddedPostgres(tmp / "pg", free_port()), EmbeddedRedis(tmp / "redis", free_port())
    pg.start()
    rd.start()
    web = None
    try:
        await asyncio.to_thread(migrate_and_grant, pg.superuser_url, "groundgame_app", "groundgame_app")
        su = pg.superuser_url.replace("+asyncpg", "")
        org, tokens, actions = await seed(su, a.volunteers, a.contacts, a.pools)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": pg.app_url("groundgame_app", "groundgame_app"),
            "REDIS_URL": rd.url,
            "LIMITS__PHONE_REVEALS_PER_MINUTE": "100000",
            "LOG_LEVEL": "WARNING",
        }
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--port",
                str(port),
                "--workers",
                str(a.workers),
                "--no-access-log",
                "--timeout-keep-alive",
                "30",
            ],
            env=env,
            cwd=ROOT,
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(100):
                try:
                    if (await c.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        stop = time.monotonic() + a.minutes * 60
        log: list[dict[str, str]] = []
        stats: Counter[str] = Counter()
        violations: list[str] = []
        limits = httpx.Limits(max_connections=a.volunteers, max_keepalive_connections=a.volunteers)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as c:
            await asyncio.gather(
                watch_leases(su, org, stop, violations), *(volunteer(c, t, actions, stop, log, stats) for t in tokens)
            )
        conn = await asyncpg.connect(su)
        stored = Counter(
            str(r[0])
            for r in await conn.fetch("SELECT id FROM field_reports WHERE organization_id = $1", uuid.UUID(org))
        )
        reveals = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE organization_id = $1 AND action = 'phone.revealed'", uuid.UUID(org)
        )
        await conn.close()
        acked = [e["report_id"] for e in log]
        server_errors = sum(n for k, n in stats.items() if k.split(":")[1].startswith("5"))
        result = {
            "volunteers": a.volunteers,
            "minutes": a.minutes,
            "requests": dict(stats),
            "acknowledged_reports": len(acked),
            "stored_reports": sum(stored.values()),
            "missing": len([r for r in acked if stored[r] != 1]),
            "duplicates": len([r for r, n in stored.items() if n > 1]),
            "server_errors": server_errors,
            "double_leases": len(set(violations)),
            "reveals_ok": stats["start:200"],
            "reveal_audits": reveals,
        }
        ok = (
            server_errors == 0
            and result["missing"] == 0
            and result["duplicates"] == 0
            and len(stored) == len(acked)
            and not violations
            and reveals == stats["start:200"]
        )
        result["passed"] = ok
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=20)
        rd.stop()
        pg.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
