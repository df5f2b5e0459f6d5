"""Failover drill (issue 20's second bar): a pg_auto_failover formation on loopback ports (app/core/autofailover.py:
monitor, primary, synchronous secondary, each under its keeper), migrated, with an organization, contacts and a
call action (bench/wl_calling.py's setup); the API under uvicorn connected through the multi-host URL with
target_session_attrs=read-write; simulated volunteers calling (next → start → report) with a client-side ledger
of every report the API acknowledged. The primary's postmaster is SIGKILLed mid-load; the drill measures the
time from the kill to the first report acknowledged by the new primary, and then checks the ledger against the
new primary: every acknowledged report there, none twice. Bar: <= 30 s, 0 acknowledged reports lost.

Alone: `python -m bench.run --only failover` (--smoke for the harness)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from app.core import autofailover
from app.core.embedded import free_port
from app.core.migrate import migrate_and_grant
from bench import wl_calling
from bench.context import Ctx
from bench.env import APP_PASSWORD, APP_ROLE
from bench.loadgen import Server, report_body
from bench.report import Row, unavailable

BAR_S = 30.0
BAR = f"first acknowledged report on the new primary <= {BAR_S:g} s after the kill; 0 acknowledged reports lost"
METRIC = "failover: primary SIGKILLed, time to the first report acknowledged by the new primary"


def log(msg: str) -> None:
    print(f"[failover] {msg}", flush=True)


@dataclass
class DrillData:
    """What wl_calling.setup_calling needs of a Ctx, for the formation's own database."""

    dsn: str
    org_id: str
    seed: int

    async def su(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn)

    def users(self, role: str) -> list[dict[str, Any]]:
        return []  # setup_calling makes its volunteers


async def seed_org(dsn: str, contacts: int) -> str:
    """An organization and `contacts` people with a mobile number (as the owner, in one transaction)."""
    org = str(uuid.uuid4())
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.organization_id', $1, true)", org)
            await conn.execute(
                "INSERT INTO organizations (id, name, slug, default_region, timezone) "
                "VALUES ($1, 'Bench failover', $2, 'RO', 'Europe/Bucharest')",
                uuid.UUID(org),
                f"failover-{org[:8]}",
            )
            await conn.execute(
                "INSERT INTO contacts (organization_id, id, first_name, last_name, mobile_e164) "
                "SELECT $1, gen_random_uuid(), 'Ion', 'Popescu ' || i, '+4072' || lpad(i::text, 7, '0') "
                "FROM generate_series(1, $2) i",
                uuid.UUID(org),
                contacts,
            )
    finally:
        await conn.close()
    return org


@dataclass
class Ledger:
    """Every report the API acknowledged (its id and when), and every answer's status."""

    acked: list[tuple[float, float, str]] = field(default_factory=list)  # sent, acknowledged (monotonic), id
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # a 500, a hang: what the drill must never see

    def saw(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def volunteer(
    client: httpx.AsyncClient, token: str, action_id: str, setup: dict[str, Any], ledger: Ledger, stop: asyncio.Event
) -> None:
    """One simulated volunteer calling one person after another; on a 503 it waits its Retry-After (capped) and
    tries the step again, as the app's outbox does."""
    rng = random.Random(token)
    auth = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        try:
            r = await client.post(f"/api/v1/actions/{action_id}/calls/next", headers=auth)
            ledger.saw(r.status_code)
            if r.status_code in (204, 404):
                return  # nobody left for this volunteer
            if r.status_code == 200:
                tid = r.json().get("target_id") or r.json().get("id")
                r = await client.post(f"/api/v1/calls/{tid}/start", headers=auth)
                ledger.saw(r.status_code)
                if r.status_code < 300:
                    body = report_body(rng, setup["survey"], setup["opp_type"])
                    for _ in range(20):  # the same report again until it is acknowledged (idempotent by id)
                        sent = time.monotonic()
                        r = await client.post(f"/api/v1/calls/{tid}/report", json=body, headers=auth)
                        ledger.saw(r.status_code)
                        if r.status_code < 300:
                            ledger.acked.append((sent, time.monotonic(), body["id"]))
                            break
                        if r.status_code != 503 or stop.is_set():
                            break
                        await asyncio.sleep(min(2.0, float(r.headers.get("retry-after", "1"))))
            if r.status_code >= 500 and r.status_code != 503:
                ledger.errors.append(f"{r.status_code}: {r.text[:200]}")
            if r.status_code == 503:
                await asyncio.sleep(min(2.0, float(r.headers.get("retry-after", "1"))))
        except httpx.HTTPError as e:
            ledger.errors.append(f"{e.__class__.__name__}: {e}")
            await asyncio.sleep(0.5)


def new_primary(formation: autofailover.Formation, old: int, timeout_s: float = 60) -> int | None:
    """The port of the node the monitor promoted in place of `old` (None: none within the timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        port = formation.primary_port()
        if port not in (None, old):
            return port
        time.sleep(0.5)
    return None


async def run(ctx: Ctx) -> list[Row]:
    if not autofailover.available():
        return [unavailable("failover", METRIC, "pg_auto_failover is not installed", unit="s", bar=BAR)]
    base_dir = ctx.services.data_dir / "pgaf"
    shutil.rmtree(base_dir, ignore_errors=True)
    formation = autofailover.Formation(base_dir, free_port(), (free_port(), free_port()))
    n_vol = 10 if ctx.smoke else 50
    warm_s = 3.0 if ctx.smoke else 10.0
    log(f"formation: monitor :{formation.monitor_port}, nodes :{formation.node_ports}")
    t = time.perf_counter()
    await asyncio.to_thread(formation.start)
    log(f"formation up in {time.perf_counter() - t:.1f}s")
    ledger = Ledger()
    try:
        old = await asyncio.to_thread(formation.primary_port)
        assert old is not None
        su = formation.superuser_url(old)
        await asyncio.to_thread(migrate_and_grant, su, APP_ROLE, APP_PASSWORD)
        dsn = su.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            sync_names = await conn.fetchval("SHOW synchronous_standby_names")
        finally:
            await conn.close()
        org = await seed_org(dsn, 2_000 if ctx.smoke else 20_000)
        setup = await wl_calling.setup_calling(DrillData(dsn, org, ctx.seed), n_vol, 2_000 if ctx.smoke else 20_000)  # type: ignore[arg-type]
        env = {
            **ctx.services.env(ctx.db),
            "DATABASE_URL": formation.app_url(APP_ROLE, APP_PASSWORD),
            "MIGRATION_DATABASE_URL": formation.migration_url(),
            "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000",
        }
        server = Server("app.main:create_app", env, 2, factory=True)
        await server.start()
        stop = asyncio.Event()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                action = setup["actions"]["app"]
                tasks = [
                    asyncio.create_task(volunteer(client, tok, action, setup, ledger, stop)) for tok in setup["tokens"]
                ]
                await asyncio.sleep(warm_s)
                before = len(ledger.acked)
                killed = time.monotonic()
                os.kill(formation.postmaster_pid(old), 9)
                log(f"primary :{old} SIGKILLed after {before} acknowledged reports")
                first: float | None = None
                while time.monotonic() - killed < 90:
                    # Sent after the kill: only the new primary can have acknowledged it (one sent before and
                    # answered after was committed by the old primary and its standby before the kill).
                    after = [done for sent, done, _ in ledger.acked if sent > killed]
                    if after and first is None:
                        first = min(after) - killed
                        log(f"first report acknowledged {first:.1f}s after the kill")
                    if first is not None and (len(after) >= 20 or time.monotonic() - killed > first + 10):
                        break  # calling again on the new primary: enough to check the ledger
                    await asyncio.sleep(0.1)
                stop.set()
                await asyncio.wait(tasks, timeout=60)
                for task in tasks:
                    task.cancel()
        finally:
            stop.set()
            await server.stop()
        new = await asyncio.to_thread(new_primary, formation, old)
        stored: list[str] = []
        if new is not None and new != old:
            conn = await asyncpg.connect(formation.superuser_url(new).replace("postgresql+asyncpg://", "postgresql://"))
            try:
                stored = [
                    str(x)
                    for x in await conn.fetchval(
                        "SELECT coalesce(array_agg(id), '{}') FROM field_reports WHERE organization_id = $1",
                        uuid.UUID(org),
                    )
                ]
            finally:
                await conn.close()
        states = await asyncio.to_thread(formation.states)
    finally:
        await asyncio.to_thread(formation.stop)
        with contextlib.suppress(OSError):
            shutil.rmtree(base_dir, ignore_errors=True)

    acked = {rid for _, _, rid in ledger.acked}
    lost = len(acked - set(stored))
    duplicated = len(stored) - len(set(stored))
    promoted = new is not None and new != old
    ok = first is not None and first <= BAR_S and lost == 0 and duplicated == 0 and promoted and not ledger.errors
    note = (
        f"{len(acked)} reports acknowledged ({before} before the kill), {lost} lost, {duplicated} stored twice; "
        f"answers {dict(sorted(ledger.statuses.items()))}; {len(ledger.errors)} errors other than 503 "
        f"{ledger.errors[:1]}; new primary :{new} (was :{old}); synchronous_standby_names {sync_names!r}; "
        f"states after: {states}"
    )
    return [
        Row(
            "failover",
            METRIC,
            round(first, 1) if first is not None else None,
            BAR_S,
            "s",
            first / BAR_S if first is not None else None,
            BAR,
            ok,
            note,
            {
                "first_ack_s": first,
                "acked": len(acked),
                "acked_before_kill": before,
                "lost": lost,
                "duplicated": duplicated,
                "statuses": ledger.statuses,
                "errors": ledger.errors[:10],
                "old_primary": old,
                "new_primary": new,
            },
            correct=lost == 0 and duplicated == 0 and promoted and not ledger.errors,
        )
    ]
