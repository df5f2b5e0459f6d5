"""Unconfirmed double opt-ins are not kept: the worker's daily purge deletes pending signatures (and with them
all the signer typed) once older than the retention, 7 days unless set; confirmed ones stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.core.db import make_sessionmaker, set_tenant
from app.models import PetitionSignature
from app.worker import purge_pending_signatures
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.petitions.conftest import form, open_petition


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def _age(db: AsyncSession, org: uuid.UUID, email: str, days: float) -> None:
    await set_tenant(db, org)
    at = datetime.now(UTC) - timedelta(days=days)
    await db.execute(update(PetitionSignature).where(PetitionSignature.signer_key == email).values(created_at=at))
    await db.commit()


async def test_pending_signatures_older_than_the_retention_are_deleted_and_the_rest_kept(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = admin.org.id
    doi = await open_petition(live_client, admin, double_opt_in=True)
    direct = await open_petition(live_client, admin)
    for p, email in ((doi, "stale@example.org"), (doi, "fresh@example.org"), (direct, "signed@example.org")):
        res = await live_client.post(f"/p/{p['slug']}/sign.json", json=form(p, email=email))
        assert res.status_code == 202, res.text
    await _age(live_db, org, "stale@example.org", 8)
    await _age(live_db, org, "fresh@example.org", 6)
    await _age(live_db, org, "signed@example.org", 30)
    ctx = {"engine": engine, "sessionmaker": make_sessionmaker(engine), "settings": settings}

    monkeypatch.setattr(settings.petitions, "pending_retention_days", 10)
    assert await purge_pending_signatures(ctx) == 0
    monkeypatch.setattr(settings.petitions, "pending_retention_days", 7)
    assert await purge_pending_signatures(ctx) == 1

    await set_tenant(live_db, org)
    left = (await live_db.execute(select(PetitionSignature.signer_key, PetitionSignature.status))).all()
    assert sorted(left) == [("fresh@example.org", "pending"), ("signed@example.org", "confirmed")]


def test_the_retention_defaults_to_a_week() -> None:
    assert Settings.model_fields["petitions"].default.pending_retention_days == 7
