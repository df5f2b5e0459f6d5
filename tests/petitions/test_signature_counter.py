"""The counter on /p/{slug} and in its JSON stays exact under concurrent signers, and signers don't queue on it:
a signature adds to one of the petition's counter shards, so one still in flight holds up no other."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core import counters
from app.core.db import set_tenant
from app.models import Contact, PetitionSignature
from app.petitions import signing
from app.petitions.schemas import SignatureInput
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.petitions.conftest import form, open_petition


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


@pytest.fixture
def no_ip_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings.petitions, "signatures_per_minute_ip", 10_000)


async def test_concurrent_signatures_are_each_counted_once_on_the_page_and_in_the_json(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor, no_ip_limit: None
) -> None:
    p = await open_petition(live_client, admin, goal=1000)
    n = 40

    async def sign(i: int) -> int:
        body = form(p, email=f"signer{i}@example.org", first_name=f"Signer{i}")
        res = await live_client.post(f"/p/{p['slug']}/sign.json", json=body, headers={"x-forwarded-for": f"10.0.0.{i}"})
        return res.status_code

    # Every signer at once, and five of them submitting twice.
    codes = await asyncio.gather(*(sign(i) for i in [*range(n), *range(5)]))
    assert set(codes) == {202}
    counter = await live_client.get(f"/p/{p['slug']}/counter.json")
    assert counter.json()["count"] == n
    page = await live_client.get(f"/p/{p['slug']}?lang=en")
    assert f"{n} of 1000 signatures" in page.text
    read = await live_client.get(f"/api/v1/petitions/{p['id']}", headers=admin.headers)
    assert read.json()["signature_count"] == n
    await set_tenant(live_db, admin.org.id)
    stored = await live_db.scalar(select(func.count()).where(PetitionSignature.petition_id == p["id"]))
    people = await live_db.scalar(select(func.count()).where(Contact.email.like("signer%@example.org")))
    assert stored == n and people == n


async def test_a_signature_in_flight_holds_up_no_other_signer(
    live_client: AsyncClient,
    admin: Actor,
    app: Any,
    settings: Settings,
    no_ip_limit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shards = itertools.count()
    monkeypatch.setattr(counters, "pick_shard", lambda: next(shards) % counters.SHARDS)  # two shards, surely
    p = await open_petition(live_client, admin)
    secret = settings.secret_key.get_secret_value()
    async with app.state.real_sessionmaker() as first, first.begin():
        petition = await signing.petition_by_slug(first, p["slug"])
        assert petition is not None
        inp = SignatureInput.model_validate(form(p, email="first@example.org"))
        outcome, _ = await signing.sign(first, petition, inp, lang="en", ip="10.0.1.1", channel="web", secret=secret)
        assert outcome == "signed"
        # Not committed yet: another signer goes through meanwhile (a shared counter row would block it).
        second = live_client.post(f"/p/{p['slug']}/sign.json", json=form(p, email="second@example.org"))
        res = await asyncio.wait_for(second, timeout=10)
        assert res.status_code == 202
        await first.rollback()
    counter = await live_client.get(f"/p/{p['slug']}/counter.json")
    assert counter.json()["count"] == 1
