"""Any syntactically valid address is accepted, reserved and special-use domains included (`.test`, `.local`…),
wherever an email is validated; a malformed one is still a 422 naming the field."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Contact, Invitation
from tests.fixtures.factories import PASSWORD, World, make_actor, make_org


async def test_login_with_an_address_at_a_test_domain_succeeds(client: AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    email = f"v-{uuid.uuid4().hex[:6]}@drill.test"
    await make_actor(db, org, "volunteer", email=email)
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text


async def test_contacts_and_invitations_accept_reserved_domains_and_refuse_malformed_ones(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["admin"].headers
    for email in ("ana@office.local", "ion@host.localhost", "eva@x.invalid", "dan@lab.test"):
        r = await client.post("/api/v1/contacts", json={"first_name": "A", "email": email}, headers=h)
        assert r.status_code == 201, r.text
        assert await db.scalar(select(Contact.email).where(Contact.id == uuid.UUID(r.json()["id"]))) == email
    r = await client.post("/api/v1/invitations", json={"email": "new@team.test", "role": "volunteer"}, headers=h)
    assert r.status_code in (200, 201), r.text
    assert await db.scalar(select(Invitation.id).where(Invitation.email == "new@team.test")) is not None
    bad = await client.post("/api/v1/contacts", json={"first_name": "A", "email": "not an address"}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "email"
