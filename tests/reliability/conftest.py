"""One committed two-organization world for the whole reliability package (built once: the matrix tests then
run inside the usual rolled-back `client` transaction, which sees this committed data, so whatever a test
changes is undone)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import issue_token
from app.config import get_settings
from app.models import Organization
from app.seed import create_user
from tests.fixtures.factories import Actor, World, make_org, make_team
from tests.reliability._world import OrgData, add_webhook_delivery, build_org_data

ROLES = ("admin", "manager", "team_leader", "volunteer", "volunteer2")


async def quick_actor(session: AsyncSession, org: Organization, role: str, tag: str) -> Actor:
    """Like the factories' make_actor, without a password (hashing costs ~0.5 s a user on this machine)."""
    email = f"{role}.{tag.lower()}.{uuid.uuid4().hex[:6]}@example.org"
    user = await create_user(
        session, org=org, email=email, role=role.rstrip("2"), password=None, full_name=f"{role.title()} {tag}"
    )
    tok = await issue_token(session, user_id=user.id, organization_id=org.id, settings=get_settings())
    await session.flush()
    return Actor(user_id=user.id, org=org, role=role.rstrip("2"), email=email, token=tok.access_token)


async def quick_org(session: AsyncSession, tag: str) -> dict[str, Actor]:
    org = await make_org(session, f"Org {tag}")
    people = {r: await quick_actor(session, org, r, tag) for r in ROLES}
    await make_team(session, org, [people["team_leader"], people["volunteer"]], name=f"First team {tag}")
    return people


@dataclass
class Rel:
    world: World
    a: OrgData
    b: OrgData
    schema: dict[str, Any]


@pytest.fixture(scope="session")
async def rel(app: Any) -> Rel:
    async with app.state.real_sessionmaker() as session:
        pa, pb = await quick_org(session, "Aqx"), await quick_org(session, "Bzq")
        await session.commit()
    saved = app.state.sessionmaker
    app.state.sessionmaker = app.state.real_sessionmaker
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as c:
            a = await build_org_data(c, pa, "Aqx")
            b = await build_org_data(c, pb, "Bzq")
    finally:
        app.state.sessionmaker = saved
    await add_webhook_delivery(app, a, pa["admin"].org.id)
    await add_webhook_delivery(app, b, pb["admin"].org.id)
    for d, people, tag in ((a, pa, "Aqx"), (b, pb, "Bzq")):
        d.secrets |= {f"{r.title()} {tag}" for r in ROLES} | {f"First team {tag}"}
        d.secrets |= {p.email for p in people.values()}
    return Rel(World(pa["admin"].org, pb["admin"].org, pa, pb), a, b, app.openapi())
