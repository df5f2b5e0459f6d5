"""What every workload gets: the services, the run database, the generated data's marker, helpers."""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.env import BenchServices


@dataclass
class Ctx:
    services: BenchServices
    db: str  # the run database (a clone of the template)
    marker: dict[str, Any]  # what the generator wrote (org, users with tokens, zones, counts)
    manifest: dict[str, Any]  # the CSV files
    size: int
    seed: int
    smoke: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # results one workload hands to another

    @property
    def org_id(self) -> str:
        return str(self.marker["organization_id"])

    def users(self, role: str) -> list[dict[str, Any]]:
        return [u for u in self.marker["users"] if u["role"] == role]

    @property
    def admin_token(self) -> str:
        return str(self.users("admin")[0]["token"])

    def reps(self, full: int, smoke: int = 3) -> int:
        return smoke if self.smoke else full

    async def su(self) -> asyncpg.Connection:
        """Superuser (owner) connection: bypasses RLS."""
        return await self.services.connect(self.db)

    async def app_conn(self) -> asyncpg.Connection:
        """The non-owner app role, as the API connects: RLS applies, set the tenant in a transaction."""
        return await self.services.connect(self.db, superuser=False)

    @contextlib.asynccontextmanager
    async def asgi_client(self, **settings_overrides: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        """The real app in-process (create_app + its lifespan) behind httpx's ASGI transport."""
        from app.main import create_app

        settings = self.services.settings(self.db, **settings_overrides)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
                client.headers["Authorization"] = f"Bearer {self.admin_token}"
                yield app, client


def has_route(app: Any, path: str, method: str = "POST") -> bool:
    """Whether the app serves `method path` (from its OpenAPI document: included routers are nested)."""
    paths = app.openapi().get("paths", {})
    return method.lower() in paths.get(path, {})


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


async def table_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{name}"))


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000

    @property
    def s(self) -> float:
        return time.perf_counter() - self.t0
