"""The `groundgame` command: up, migrate, seed, worker, create-org, create-user."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from app.config import Settings, get_settings
from app.core.autofailover import Formation
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedStandby

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

# The arq worker, reconnecting to Redis with backoff instead of exiting (app.worker.main).
WORKER_ARGV = [sys.executable, "-m", "app.worker"]


@dataclass
class Services:
    settings: Settings
    app_url: str
    migration_url: str
    redis_url: str
    started: list[EmbeddedPostgres | EmbeddedRedis | Formation] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.app_url,
            "MIGRATION_DATABASE_URL": self.migration_url,
            "REDIS_URL": self.redis_url,
        }

    def stop(self) -> None:
        for svc in reversed(self.started):
            svc.stop()


def formation_of(settings: Settings, replicas: int) -> Formation:
    """The embedded pg_auto_failover formation: a primary and `replicas` secondaries on the embedded port and the
    next ones, its monitor on the port after them, all under data_dir/pgaf."""
    port = settings.embedded_pg_port
    return Formation(
        settings.data_dir / "pgaf", port + replicas + 1, tuple(port + i for i in range(replicas + 1)), "groundgame"
    )


def ensure_services(settings: Settings, *, start: bool = True, replicas: int = 0, failover: bool = False) -> Services:
    """Embedded PostgreSQL and Redis under data_dir unless DATABASE_URL / REDIS_URL are set; with `replicas`,
    that many hot standbys of the embedded primary too, used for lag-tolerant reads (REPLICAS__URLS): streaming
    standbys on the next ports by default, or (`failover`) a pg_auto_failover formation (monitor, primary and
    `replicas` synchronous secondaries under data_dir/pgaf) that promotes a secondary when the primary dies; the
    API then connects through the multi-host URL with target_session_attrs=read-write, and reads from
    whichever nodes are standbys (one replica URL per node, target_session_attrs=standby)."""
    started: list[EmbeddedPostgres | EmbeddedRedis | Formation] = []
    password = settings.app_db_password.get_secret_value()
    if settings.database_url:
        app_url = settings.database_url
        mig_url = settings.migration_database_url or settings.database_url
    elif failover and replicas > 0:
        formation = formation_of(settings, replicas)
        if start:
            ports = ", ".join(str(p) for p in formation.node_ports)
            print(
                f"==> pg_auto_failover (project-local): monitor :{formation.monitor_port}, nodes :{ports}, "
                f"data in {formation.base}"
            )
            formation.start()
            started.append(formation)
        app_url = formation.app_url(settings.app_db_role, password)
        mig_url = formation.migration_url()
        os.environ["REPLICAS__URLS"] = json.dumps(formation.standby_urls(settings.app_db_role, password))
    else:
        pg = EmbeddedPostgres(settings.data_dir / "pg", settings.embedded_pg_port)
        if start:
            print(f"==> PostgreSQL (project-local) on 127.0.0.1:{pg.port}, data in {pg.data_dir}")
            pg.start()
            started.append(pg)
        app_url = pg.app_url(settings.app_db_role, password)
        mig_url = pg.superuser_url
        standbys = [
            EmbeddedStandby(settings.data_dir / f"pg-standby-{i}", pg.port + i, primary_port=pg.port)
            for i in range(1, replicas + 1)
        ]
        for sb in standbys if start else []:
            print(f"==> PostgreSQL standby (project-local) on 127.0.0.1:{sb.port}, data in {sb.data_dir}")
            sb.start()
            started.append(sb)
        if standbys:
            os.environ["REPLICAS__URLS"] = json.dumps([sb.app_url(settings.app_db_role, password) for sb in standbys])
    if settings.redis_url:
        redis_url = settings.redis_url
    else:
        rd = EmbeddedRedis(settings.data_dir / "redis", settings.embedded_redis_port)
        if start:
            print(f"==> Redis (project-local) on 127.0.0.1:{rd.port}")
            rd.start()
            started.append(rd)
        redis_url = rd.url
    os.environ.update({"DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": mig_url, "REDIS_URL": redis_url})
    get_settings.cache_clear()
    return Services(get_settings(), app_url, mig_url, redis_url, started)


def cmd_migrate(svc: Services) -> None:
    from app.core.migrate import migrate_and_grant

    role = svc.settings.app_db_role if svc.app_url != svc.migration_url else None
    migrate_and_grant(svc.migration_url, role, svc.settings.app_db_password.get_secret_value())
    print("==> database migrated")


async def _with_session(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from app.core.db import make_engine, make_sessionmaker

    settings = get_settings()
    engine = make_engine(settings.database_url, settings, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


def cmd_seed() -> None:
    from app.seed import seed_demo

    created, logins = asyncio.run(_with_session(seed_demo))
    print("==> demo organization " + ("seeded" if created else "already present (nothing seeded)"))
    print("    demo logins (organization 'demo'):")
    for d in logins:
        print(f"      {d.role:<12} {d.email:<40} {d.password}")


def cmd_create_org(name: str, slug: str) -> None:
    from app.seed import create_org

    async def go(session):  # type: ignore[no-untyped-def]
        org = await create_org(session, name=name, slug=slug)
        return org.id

    print(asyncio.run(_with_session(go)))


def cmd_create_user(org_slug: str, email: str, role: str, password: str | None) -> None:
    from sqlalchemy import select, text

    from app.core.db import set_tenant
    from app.models import Organization
    from app.seed import create_user

    async def go(session):  # type: ignore[no-untyped-def]
        # organizations is under row-level security: find the id through the owner-side lookup.
        org_id = await session.scalar(text("SELECT gg_org_by_slug(:s)"), {"s": org_slug})
        if org_id is None:
            raise SystemExit(f"no organization with slug {org_slug!r}")
        await set_tenant(session, org_id)
        org = await session.scalar(select(Organization).where(Organization.id == org_id))
        user = await create_user(session, org=org, email=email, role=role, password=password)
        return user.id

    print(asyncio.run(_with_session(go)))


def _service_name(s: EmbeddedPostgres | EmbeddedRedis | Formation) -> str:
    if isinstance(s, Formation):
        return "pg_auto_failover formation"
    if isinstance(s, EmbeddedStandby):
        return f"PostgreSQL standby :{s.port}"
    return "PostgreSQL" if isinstance(s, EmbeddedPostgres) else "Redis"


def cmd_up(svc: Services) -> None:
    from app.supervisor import Backoff, Child, Supervisor, Watched

    settings = svc.settings
    cmd_migrate(svc)
    cmd_seed()
    env = svc.env()
    from app.core.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    # One view of every process's metrics (web workers and the worker): emptied at each start.
    env[MULTIPROC_ENV] = str(prepare_multiprocess_dir(settings.data_dir))
    py = sys.executable
    web = [
        py,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.web_workers),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "10",
        # Longer than clients' idle keep-alive, so a reused connection is never closed under them.
        "--timeout-keep-alive",
        "30",
    ]

    def backoff() -> Backoff:
        return Backoff(settings.restart_delay_s, settings.restart_max_delay_s)

    supervisor = Supervisor(
        children=[Child("web", web, env, backoff()), Child("worker", WORKER_ARGV, env, backoff())],
        services=[Watched(_service_name(s), s, backoff()) for s in svc.started],
    )
    print(f"==> GroundGame on http://{settings.host}:{settings.port}  (API docs: /docs)  Ctrl-C to stop", flush=True)
    supervisor.run()
    print("==> stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="groundgame", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start database, redis, migrate, seed, serve API + PWA and a worker")
    up.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("EMBEDDED_REPLICAS", "0")),
        help="also run this many hot standbys of the embedded PostgreSQL for HQ's reads (env EMBEDDED_REPLICAS): "
        "streaming standbys, or with --failover a pg_auto_failover formation",
    )
    up.add_argument(
        "--failover",
        action="store_true",
        default=os.environ.get("EMBEDDED_FAILOVER", "") not in ("", "0"),
        help="with --replicas: run a pg_auto_failover monitor, primary and secondaries under .data/pgaf instead, "
        "so the API survives the primary's death (env EMBEDDED_FAILOVER=1)",
    )
    sub.add_parser("migrate", help="apply migrations (alembic upgrade head) and grant the app role")
    sub.add_parser("seed", help="seed the demo organization (once)")
    sub.add_parser("worker", help="run an arq worker")
    p = sub.add_parser("create-org")
    p.add_argument("--name", required=True)
    p.add_argument("--slug", required=True)
    p = sub.add_parser("create-user")
    p.add_argument("--org", required=True, help="organization slug")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=["admin", "manager", "team_leader", "volunteer"])
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.cmd == "up":
        cmd_up(ensure_services(settings, replicas=args.replicas, failover=args.failover))
        return
    svc = ensure_services(settings)
    if args.cmd == "migrate":
        cmd_migrate(svc)
    elif args.cmd == "seed":
        cmd_seed()
    elif args.cmd == "worker":
        os.execv(sys.executable, WORKER_ARGV)
    elif args.cmd == "create-org":
        cmd_create_org(args.name, args.slug)
    elif args.cmd == "create-user":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        if password is not None and len(password) < 10:
            raise SystemExit("password too short (10 characters at least)")
        cmd_create_user(args.org, args.email, args.role, password)


if __name__ == "__main__":
    main()
