"""Alembic is the only source of the schema: it round-trips, and the models match it."""

from __future__ import annotations

import ast
import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import app.models
from app.config import ROOT
from app.core.embedded import EmbeddedPostgres, free_port
from app.core.migrate import downgrade, upgrade
from tests.conftest import ServicesUnderTest


def _diff(url: str) -> list[object]:
    async def go() -> list[object]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:

            def cmp(sync_conn):  # type: ignore[no-untyped-def]
                ctx = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": True,
                        "include_object": lambda o, n, t, r, c: (
                            not (t == "table" and n == "spatial_ref_sys")
                            and not (t == "index" and n and n.startswith("idx_") and r)
                        ),
                    },
                )
                return compare_metadata(ctx, app.models.Base.metadata)

            diff = await conn.run_sync(cmp)
        await engine.dispose()
        return list(diff)

    return asyncio.run(go())


def test_upgrade_downgrade_upgrade_and_models_match(services: ServicesUnderTest) -> None:
    pg = services.pg
    if pg is None:
        pg = EmbeddedPostgres(services.tmp / "pg-mig", free_port(), shared_buffers_mb=256)
        pg.start()
    pg.psql("DROP DATABASE IF EXISTS migcheck")
    pg.psql("CREATE DATABASE migcheck")
    url = pg.superuser_url.rsplit("/", 1)[0] + "/migcheck"
    upgrade(url)
    downgrade(url, "base")
    tables = pg.psql(
        "SELECT count(*) FROM pg_tables WHERE schemaname='public' "
        "AND tablename NOT IN ('spatial_ref_sys', 'alembic_version')",
        "migcheck",
    )
    assert tables == "0"
    upgrade(url)
    assert _diff(url) == []


def test_migrations_import_no_live_app_code() -> None:
    """A migration's SQL is frozen in its file: changing app code later cannot change what an old revision does."""
    offenders = []
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n == "app" or n.startswith("app.")]
    assert not offenders
