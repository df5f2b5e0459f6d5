"""`groundgame up --replicas 1 --failover` (issue 20, line 3): the services step it runs (app.cli.ensure_services)
brings up a pg_auto_failover monitor, a primary and a secondary on loopback ports under the data directory; the
API, migrated and started on what it hands over, writes through the multi-host URL (target_session_attrs
read-write) on the primary and serves its lag-tolerant reads on the secondary."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.cli import cmd_migrate, ensure_services
from app.config import Settings, get_settings
from app.core import autofailover
from app.core.db import make_engine
from app.core.embedded import free_port, port_open
from tests.conftest import ServicesUnderTest
from tests.fixtures.factories import make_actor, make_org
from tests.fixtures.standby import contacts_locked, waiting_on_standby


def _free_run(n: int) -> int:
    """A port whose next n - 1 are free too (the formation takes consecutive ports)."""
    while True:
        port = free_port()
        if port + n < 65535 and not any(port_open(port + i) for i in range(n)):
            return port


async def test_up_with_failover_runs_a_formation_whose_primary_takes_writes_and_whose_secondary_serves_reads(
    services: ServicesUnderTest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not autofailover.available():
        pytest.skip("pg_auto_failover is not installed (scripts/bootstrap.sh installs it)")
    for key in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "REPLICAS__URLS"):
        if key in os.environ:
            monkeypatch.setenv(key, os.environ[key])  # restored afterwards: ensure_services sets them
        else:
            monkeypatch.delenv(key, raising=False)
    cfg = settings.model_copy(
        update={
            "database_url": "",
            "migration_database_url": "",
            "redis_url": services.redis_url,
            "data_dir": services.tmp / f"up-pgaf-{uuid.uuid4().hex[:6]}",
            "embedded_pg_port": _free_run(3),
        }
    )
    svc = await asyncio.to_thread(ensure_services, cfg, replicas=1, failover=True)
    try:
        (formation,) = svc.started
        assert isinstance(formation, autofailover.Formation) and formation.alive()
        assert formation.base == cfg.data_dir / "pgaf"
        assert set(formation.states().values()) == {"primary", "secondary"}
        assert "target_session_attrs=read-write" in svc.app_url and svc.settings.replicas.urls
        await asyncio.to_thread(cmd_migrate, svc)
        await _write_on_the_primary_and_read_on_the_secondary(svc.settings, formation)

        # Stopped and started again (the next `groundgame up`): the same parts run again, nothing is created.
        await asyncio.to_thread(svc.stop)
        svc = await asyncio.to_thread(ensure_services, cfg, replicas=1, failover=True)
        (formation,) = svc.started
        assert isinstance(formation, autofailover.Formation)
        argv = [str(p.args) for p in formation.procs.values()]
        assert all("'run'" in a and "'create'" not in a for a in argv), argv
        await _write_on_the_primary_and_read_on_the_secondary(svc.settings, formation)
    finally:
        await asyncio.to_thread(svc.stop)
        get_settings.cache_clear()
    assert not formation.alive()


async def _write_on_the_primary_and_read_on_the_secondary(
    settings: Settings, formation: autofailover.Formation
) -> None:
    from app.main import create_app

    application = create_app(settings)
    primary_port = formation.primary_port()
    (standby_port,) = [p for p in formation.node_ports if p != primary_port]
    primary_su = make_engine(formation.superuser_url(primary_port or 0), settings, pool_size=2)
    standby_su = make_engine(formation.superuser_url(standby_port), settings, pool_size=2)
    try:
        async with (
            application.router.lifespan_context(application),
            AsyncClient(transport=ASGITransport(app=application), base_url="http://test") as client,
        ):
            async with application.state.sessionmaker() as s:
                org = await make_org(s)
                staff = await make_actor(s, org, "manager")
                await s.commit()
            auth = {"Authorization": f"Bearer {staff.token}"}
            made = await client.post(
                "/api/v1/contacts", json={"first_name": "Up", "last_name": "Formation"}, headers=auth
            )
            assert made.status_code == 201, made.text  # a write: on the primary
            # One replica per node, each usable only while its node is a standby: the secondary's answers (within
            # a few checks: a node just made secondary may still be restarting), the primary's is skipped.
            reads = application.state.reads
            for _ in range(60):
                await reads.measure()
                if any(r.healthy for r in reads.replicas):
                    break
                await asyncio.sleep(0.5)
            assert [r.name for r in reads.replicas if r.healthy] == [
                f"#{2 if primary_port == formation.node_ports[0] else 1} (port {standby_port})"
            ], [r.reason for r in reads.replicas]
            (replica,) = [r for r in reads.replicas if r.healthy]
            async with replica.engine.connect() as c:
                assert (await c.execute(text("SELECT pg_is_in_recovery()"))).scalar()

            async with contacts_locked(primary_su, standby_su):
                counted = asyncio.create_task(client.post("/api/v1/contacts/count", json={"filter": {}}, headers=auth))
                await waiting_on_standby(standby_su)  # the read is served by the secondary
            r = await counted
            assert r.status_code == 200 and r.json()["count"] == 1, r.text  # synchronous: the write is there
    finally:
        await primary_su.dispose()
        await standby_su.dispose()
