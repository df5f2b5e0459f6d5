"""API keys: scoped, shown once, hashed, revocable, expiring; every request audited as the key."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.core.security import hash_token
from app.models import ApiKey, AuditLog
from tests.fixtures.factories import World, make_actor, make_org

API = "/api/v1"


async def _key(client: AsyncClient, world: World, scopes: list[str], **extra: object) -> dict[str, Any]:
    res = await client.post(
        f"{API}/api-keys", json={"name": "CRM sync", "scopes": scopes, **extra}, headers=world.a["admin"].headers
    )
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()
    return data


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    created = await _key(client, world, ["contacts:read"])
    assert created["key"].startswith(created["prefix"] + "_")
    await set_tenant(db, world.org_a.id)
    row = await db.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert row is not None and row.key_hash == hash_token(created["key"]) and created["key"] not in row.key_hash
    listed = (await client.get(f"{API}/api-keys", headers=world.a["admin"].headers)).json()
    assert [k["prefix"] for k in listed] == [created["prefix"]] and "key" not in listed[0]


async def test_a_read_key_lists_contacts_but_cannot_write_or_reach_admin_routes(
    client: AsyncClient, world: World
) -> None:
    key = (await _key(client, world, ["contacts:read"]))["key"]
    assert (await client.get(f"{API}/contacts", headers=_bearer(key))).status_code == 200
    res = await client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=_bearer(key))
    assert res.status_code == 403, res.text
    for path in ("/api-keys", "/users", "/audit-log", "/webhooks"):
        assert (await client.get(f"{API}{path}", headers=_bearer(key))).status_code == 403, path
    # A write key may create; it still may not manage keys.
    wkey = (await _key(client, world, ["contacts:write"]))["key"]
    res = await client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=_bearer(wkey))
    assert res.status_code == 201, res.text
    res = await client.post(f"{API}/api-keys", json={"name": "x", "scopes": ["contacts:write"]}, headers=_bearer(wkey))
    assert res.status_code == 403


async def test_only_admins_manage_keys(client: AsyncClient, world: World) -> None:
    res = await client.post(
        f"{API}/api-keys", json={"name": "x", "scopes": ["contacts:read"]}, headers=world.a["manager"].headers
    )
    assert res.status_code == 403
    res = await client.post(
        f"{API}/api-keys", json={"name": "x", "scopes": ["everything"]}, headers=world.a["admin"].headers
    )
    assert res.status_code == 422 and "scopes" in res.text


async def test_a_revoked_or_expired_key_is_refused(client: AsyncClient, db: AsyncSession, world: World) -> None:
    created = await _key(client, world, ["contacts:read"])
    res = await client.delete(f"{API}/api-keys/{created['id']}", headers=world.a["admin"].headers)
    assert res.status_code == 204
    assert (await client.get(f"{API}/contacts", headers=_bearer(created["key"]))).status_code == 401

    other = await _key(client, world, ["contacts:read"], expires_in_days=1)
    assert (await client.get(f"{API}/contacts", headers=_bearer(other["key"]))).status_code == 200
    await set_tenant(db, world.org_a.id)
    await db.execute(
        update(ApiKey).where(ApiKey.id == other["id"]).values(expires_at=text("now() - interval '1 second'"))
    )
    assert (await client.get(f"{API}/contacts", headers=_bearer(other["key"]))).status_code == 401


async def test_each_request_is_audited_as_the_key_and_marks_it_used(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    created = await _key(client, world, ["contacts:write"])
    res = await client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=_bearer(created["key"]))
    assert res.status_code == 201
    await set_tenant(db, world.org_a.id)
    rows = (
        await db.scalars(select(AuditLog).where(AuditLog.actor_api_key_id == created["id"]).order_by(AuditLog.id))
    ).all()
    assert [r.action for r in rows][:1] == ["api_key.request"]
    assert rows[0].details["path"] == "/contacts" and rows[0].details["method"] == "POST"
    assert all(r.actor_user_id == world.a["admin"].user_id for r in rows)
    key = await db.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert key is not None and key.last_used_at is not None
    entries = (await client.get(f"{API}/audit-log", headers=world.a["admin"].headers)).json()["items"]
    assert any(e["actor_api_key_id"] == created["id"] for e in entries)


async def test_a_refused_key_request_is_audited_though_it_rolled_back(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    org = await make_org(live_db)
    admin = await make_actor(live_db, org, "admin")
    volunteer = await make_actor(live_db, org, "volunteer")
    org_id = org.id
    await live_db.commit()
    res = await live_client.post(
        f"{API}/api-keys", json={"name": "sync", "scopes": ["contacts:read"]}, headers=admin.headers
    )
    key = res.json()
    denied = await live_client.delete(f"{API}/users/{volunteer.user_id}", headers=_bearer(key["key"]))
    assert denied.status_code == 403
    await set_tenant(live_db, org_id)
    rows = (await live_db.scalars(select(AuditLog).where(AuditLog.actor_api_key_id == key["id"]))).all()
    assert [(r.details["method"], r.details["path"], r.details["allowed"]) for r in rows] == [
        ("DELETE", f"/users/{volunteer.user_id}", False)
    ]
