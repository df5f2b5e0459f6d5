"""The per-process cache of authenticated tokens (app/auth/cache.py): a cached token still scopes its requests to
its organization, and a change to what it grants takes effect at once on this process and as soon as it commits
elsewhere (the TTL here is long, so only the invalidation can explain it)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.cache import AuthRow, PrincipalCache
from app.core.db import set_tenant
from app.core.security import hash_token
from app.models import AuditLog
from tests.calling.conftest import make_bank
from tests.fixtures.factories import Actor, make_actor, make_org


@pytest.fixture
async def cache(app: object) -> AsyncIterator[PrincipalCache]:
    c: PrincipalCache = app.state.principal_cache  # type: ignore[attr-defined]
    for _ in range(200):  # the listener connects with the app (10 s at most)
        if c.listening:
            break
        await asyncio.sleep(0.05)
    assert c.listening, "the auth change listener did not connect"
    c.ttl_s = 60.0
    c.forget_all()
    yield c
    c.ttl_s = 0.0
    c.forget_all()


async def _actor(db: AsyncSession, role: str) -> Actor:
    actor = await make_actor(db, await make_org(db), role)
    await db.commit()
    return actor


async def test_a_cached_token_sees_only_its_own_organization(
    live_client: AsyncClient, live_db: AsyncSession, cache: PrincipalCache
) -> None:
    a, b = await _actor(live_db, "manager"), await _actor(live_db, "manager")
    made = await live_client.post("/api/v1/teams", json={"name": "Sector 3"}, headers=a.headers)
    assert made.status_code == 201, made.text
    assert cache.get(hash_token(a.token)) is not None  # the next requests are cache hits
    mine = await live_client.get("/api/v1/teams", headers=a.headers)
    theirs = await live_client.get("/api/v1/teams", headers=b.headers)
    theirs = await live_client.get("/api/v1/teams", headers=b.headers)  # a hit for b too
    assert [t["name"] for t in mine.json()] == ["Sector 3"]
    assert theirs.status_code == 200 and theirs.json() == []


async def test_logout_refuses_the_token_at_once_on_the_same_process(
    live_client: AsyncClient, live_db: AsyncSession, cache: PrincipalCache
) -> None:
    v = await _actor(live_db, "volunteer")
    assert (await live_client.get("/api/v1/me", headers=v.headers)).status_code == 200
    assert cache.get(hash_token(v.token)) is not None
    assert (await live_client.post("/api/v1/auth/logout", headers=v.headers)).status_code == 204
    r = await live_client.get("/api/v1/me", headers=v.headers)
    assert r.status_code == 401


async def test_a_role_changed_elsewhere_takes_effect_once_it_commits(
    live_client: AsyncClient, live_db: AsyncSession, cache: PrincipalCache
) -> None:
    v = await _actor(live_db, "volunteer")
    assert (await live_client.get("/api/v1/me", headers=v.headers)).json()["role"] == "volunteer"
    assert cache.get(hash_token(v.token)) is not None
    # As another process would (or the CLI, or SQL by hand): nothing of this process knows.
    await live_db.execute(text("SELECT set_config('app.organization_id', :o, true)"), {"o": str(v.org.id)})
    await live_db.execute(
        text("UPDATE memberships SET role = 'manager' WHERE organization_id = :o AND user_id = :u"),
        {"o": v.org.id, "u": v.user_id},
    )
    await live_db.commit()
    deadline = time.monotonic() + 2  # the notification's trip; the TTL is 60 s
    role = None
    while time.monotonic() < deadline:
        role = (await live_client.get("/api/v1/me", headers=v.headers)).json()["role"]
        if role == "manager":
            break
        await asyncio.sleep(0.02)
    assert role == "manager"


async def test_a_lookup_that_raced_a_change_is_not_remembered() -> None:
    c = PrincipalCache(60)
    c.listening = True
    row = AuthRow(uuid.uuid4(), uuid.uuid4(), False, uuid.uuid4(), "a@example.org", "A", "volunteer", ())
    before = c.generation
    c.forget_all()  # a change committed while the lookup ran
    c.put("h", row, before)
    assert c.get("h") is None
    c.put("h", row, c.generation)
    assert c.get("h") == row
    c.listening = False  # no listener: nothing is served from the cache
    assert c.get("h") is None


async def test_calls_with_cached_tokens_reveal_audit_and_report_in_their_organization(
    live_client: AsyncClient, live_db: AsyncSession, cache: PrincipalCache
) -> None:
    bank = await make_bank(live_client, live_db, contacts=3, volunteers=1)
    v = bank.volunteers[0]
    for _ in range(3):
        nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
        assert nxt.status_code == 200, nxt.text
        tid = nxt.json()["id"]
        assert (await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)).status_code == 200
        rep = await live_client.post(
            f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": str(uuid.uuid4()), "outcome": "refused"}
        )
        assert rep.status_code < 300, rep.text
    assert cache.get(hash_token(v.token)) is not None
    await set_tenant(live_db, bank.manager.org.id)
    reveals = await live_db.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.organization_id == bank.manager.org.id, AuditLog.action == "phone.revealed")
    )
    assert reveals == 3
