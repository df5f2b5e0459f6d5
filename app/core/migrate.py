"""Run Alembic programmatically, and grant the application role what it needs (it owns nothing)."""

from __future__ import annotations

import asyncio
import re

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import ROOT, get_settings


def migration_url() -> str:
    s = get_settings()
    url = s.migration_database_url or s.database_url
    if not url:
        raise SystemExit("DATABASE_URL is not set (run through `groundgame up` for the embedded default)")
    return url


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def _run_in_thread(fn: object, *args: object) -> None:
    # env.py calls asyncio.run(); keep it off any running loop.
    import threading

    err: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as e:
            err.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if err:
        raise err[0]


def upgrade(url: str, revision: str = "head") -> None:
    _run_in_thread(command.upgrade, alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    _run_in_thread(command.downgrade, alembic_config(url), revision)


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


async def ensure_app_role(url: str, role: str, password: str) -> None:
    """Create the non-owner login role the API connects as, and grant it DML on the schema."""
    if not _IDENT.match(role):
        raise ValueError("invalid role name")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        exists = (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})).scalar()
        pw = password.replace("'", "''")
        if not exists:
            await conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{pw}'"))
        await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        await conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        await conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        await conn.execute(text(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}"))
        await conn.execute(text(f"ALTER ROLE {role} SET search_path = public"))
    await engine.dispose()


def migrate_and_grant(url: str, role: str | None, password: str) -> None:
    upgrade(url)
    if role:
        asyncio.run(ensure_app_role(url, role, password))
