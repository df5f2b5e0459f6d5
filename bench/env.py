"""The bench's own PostgreSQL cluster and Redis under .data/bench/, reused across runs.

One cluster; one *template* database per (size, seed) holding the generated data (`bench_base_<size>_s<seed>`),
and a throwaway *run* database cloned from it for each run (`CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`),
so imports, actions and calls made by a run never leak into the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from app.config import ROOT, Settings, get_settings
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, port_open

BENCH_DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", str(ROOT / ".data" / "bench")))
CSV_DIR = ROOT / "bench" / "data"
APP_ROLE = "groundgame_app"
APP_PASSWORD = "groundgame_app"
MIGRATIONS_DIR = ROOT / "migrations" / "versions"
RUN_DB = "bench_run"


def template_name(size: int, seed: int) -> str:
    return f"bench_base_{size}_s{seed}"


def migration_fingerprint() -> dict[str, str]:
    """sha256 of each migration file: a template is reused only if the files it was migrated with are unchanged."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(MIGRATIONS_DIR.glob("*.py"))}


def _forbidden_ports() -> set[int]:
    s = get_settings()
    return {5432, 6379, s.embedded_pg_port, s.embedded_redis_port, s.port}


def _pick_port(saved: Path) -> int:
    bad = _forbidden_ports()
    if saved.exists():
        with contextlib.suppress(ValueError):
            p = int(saved.read_text().strip())
            if p not in bad:
                return p
    while True:
        p = free_port()
        if p not in bad:
            saved.write_text(str(p))
            return p


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is not "taken"
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class BenchServices:
    data_dir: Path = BENCH_DATA_DIR

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.started: list[str] = []
        self._lock: Any = None
        pg_port = _pick_port(self.data_dir / "pg.port")
        self.pg = EmbeddedPostgres(self.data_dir / "pg", pg_port, database="postgres")
        rd_port = _pick_port(self.data_dir / "redis.port")
        self.redis = EmbeddedRedis(self.data_dir / "redis", rd_port)

    def lock(self) -> None:
        """One run at a time per data dir (a second `make bench` waits instead of stopping the first one's cluster)."""
        import fcntl

        self._lock = open(self.data_dir / "run.lock", "w")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[bench] another bench run holds {self.data_dir / 'run.lock'}: waiting", flush=True)
            fcntl.flock(self._lock, fcntl.LOCK_EX)

    def start(self) -> None:
        # A saved port taken by something else (and our cluster not running): pick another one.
        if not self.pg.running() and not _port_free(self.pg.port):
            (self.data_dir / "pg.port").unlink(missing_ok=True)
            self.pg.port = _pick_port(self.data_dir / "pg.port")
        was_running = self.pg.running()
        self.pg.start()
        if not was_running:
            self.started.append("pg")
        self._ensure_stat_statements(restart=not was_running)
        if not port_open(self.redis.port) or not (self.redis.data_dir / "redis.pid").exists():
            if not _port_free(self.redis.port):
                (self.data_dir / "redis.port").unlink(missing_ok=True)
                self.redis.port = _pick_port(self.data_dir / "redis.port")
            self.redis.start()
            self.started.append("redis")

    def _ensure_stat_statements(self, restart: bool) -> None:
        """pg_stat_statements (statements per API call in the calling workload) needs a preload and a restart:
        done once in the bench cluster's postgresql.auto.conf; not restarted under someone else's running bench."""
        if "pg_stat_statements" in self.pg.psql("SHOW shared_preload_libraries"):
            return
        self.pg.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        if restart:
            self.pg.stop("fast")
            self.pg.start()

    def stop(self, *, only_started: bool = False) -> None:
        """Stop Redis and the cluster (only_started: only what this process started)."""
        if not only_started or "redis" in self.started:
            self.redis.stop()
        if not only_started or "pg" in self.started:
            self.pg.stop("fast")

    # DSNs: asyncpg style (dsn) and SQLAlchemy style (url).
    def dsn(self, database: str, *, superuser: bool = True) -> str:
        cred = "postgres" if superuser else f"{APP_ROLE}:{APP_PASSWORD}"
        return f"postgresql://{cred}@127.0.0.1:{self.pg.port}/{database}"

    def sa_url(self, database: str, *, superuser: bool = True) -> str:
        return self.dsn(database, superuser=superuser).replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def settings(self, database: str, **overrides: Any) -> Settings:
        """Application settings pointing at a bench database as the non-owner app role (RLS applies)."""
        values: dict[str, Any] = {
            "database_url": self.sa_url(database, superuser=False),
            "migration_database_url": self.sa_url(database),
            "redis_url": self.redis_url,
            "data_dir": self.data_dir / "app",
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)

    def env(self, database: str) -> dict[str, str]:
        """Environment for a subprocess (uvicorn, arq worker) running the app against `database`."""
        return {
            **os.environ,
            "DATABASE_URL": self.sa_url(database, superuser=False),
            "MIGRATION_DATABASE_URL": self.sa_url(database),
            "REDIS_URL": self.redis_url,
            "DATA_DIR": str(self.data_dir / "app"),
            "LOG_LEVEL": "WARNING",
        }

    async def connect(self, database: str = "postgres", *, superuser: bool = True) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn(database, superuser=superuser))

    async def database_exists(self, name: str) -> bool:
        conn = await self.connect()
        try:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    async def drop_database(self, name: str) -> None:
        conn = await self.connect()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def create_database(self, name: str, template: str | None = None) -> None:
        conn = await self.connect()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            else:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


# ---------------------------------------------------------------- marker (what a template database holds)

MARKER_DDL = "CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)"


async def read_marker(conn: asyncpg.Connection) -> dict[str, Any] | None:
    exists = await conn.fetchval("SELECT to_regclass('public.bench_meta') IS NOT NULL")
    if not exists:
        return None
    raw = await conn.fetchval("SELECT value FROM bench_meta WHERE key = 'generated'")
    return json.loads(raw) if raw else None


async def write_marker(conn: asyncpg.Connection, value: dict[str, Any]) -> None:
    await conn.execute(MARKER_DDL)
    await conn.execute(
        "INSERT INTO bench_meta (key, value) VALUES ('generated', $1::jsonb) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        json.dumps(value),
    )


def migrate(services: BenchServices, database: str) -> None:
    """Alembic upgrade head as the superuser (owner), then grant the app role. Synchronous (runs its own loop)."""
    from app.core.migrate import migrate_and_grant

    migrate_and_grant(services.sa_url(database), APP_ROLE, APP_PASSWORD)
