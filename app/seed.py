"""Demo organization, seeded once: admin, manager, two teams of volunteers (and, as features land,
contacts in Bucharest and its sectors from shared/data)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core.db import set_tenant
from app.core.security import hash_password
from app.models import Membership, Organization, Team, TeamMember, User

DEMO_SLUG = "demo"
DEMO_PASSWORD = "groundgame-demo"


@dataclass
class DemoLogin:
    email: str
    role: str
    password: str = DEMO_PASSWORD


DEMO_USERS = [
    DemoLogin("admin@demo.groundgame.org", "admin"),
    DemoLogin("manager@demo.groundgame.org", "manager"),
    DemoLogin("leader.north@demo.groundgame.org", "team_leader"),
    DemoLogin("leader.south@demo.groundgame.org", "team_leader"),
    *[DemoLogin(f"volunteer{i}@demo.groundgame.org", "volunteer") for i in range(1, 7)],
]


async def create_org(
    session: AsyncSession, *, name: str, slug: str, region: str | None = None, timezone: str = "Europe/Bucharest"
) -> Organization:
    region = region or get_settings().default_region
    org = Organization(id=uuid.uuid4(), name=name, slug=slug, default_region=region, timezone=timezone)
    await set_tenant(session, org.id)
    session.add(org)
    await session.flush()
    return org


async def create_user(
    session: AsyncSession, *, org: Organization, email: str, role: str, password: str | None, full_name: str = ""
) -> User:
    await set_tenant(session, org.id)
    user = await session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        user = User(
            email=email.lower(),
            full_name=full_name or email.split("@")[0].replace(".", " ").title(),
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        await session.flush()
    elif password:
        user.password_hash = hash_password(password)
    member = await session.scalar(
        select(Membership).where(Membership.organization_id == org.id, Membership.user_id == user.id)
    )
    if member is None:
        session.add(Membership(organization_id=org.id, user_id=user.id, role=role))
    else:
        member.role = role
    await session.flush()
    return user


async def seed_demo(session: AsyncSession) -> tuple[bool, list[DemoLogin]]:
    """Returns (created now?, logins). Safe to call on every start."""
    existing = await session.scalar(select(User.id).where(User.email == DEMO_USERS[0].email))
    if existing is not None:
        return False, DEMO_USERS
    org = await create_org(session, name="USR Bucharest (demo)", slug=DEMO_SLUG)
    users = {}
    for d in DEMO_USERS:
        users[d.email] = await create_user(session, org=org, email=d.email, role=d.role, password=d.password)
    north = Team(
        organization_id=org.id,
        name="North (Sectors 1-2)",
        region="Bucharest north",
        leader_user_id=users["leader.north@demo.groundgame.org"].id,
    )
    south = Team(
        organization_id=org.id,
        name="South (Sectors 4-5)",
        region="Bucharest south",
        leader_user_id=users["leader.south@demo.groundgame.org"].id,
    )
    session.add_all([north, south])
    await session.flush()
    for i in range(1, 7):
        team = north if i <= 3 else south
        session.add(
            TeamMember(organization_id=org.id, team_id=team.id, user_id=users[f"volunteer{i}@demo.groundgame.org"].id)
        )
    for team, leader in ((north, "leader.north"), (south, "leader.south")):
        session.add(
            TeamMember(organization_id=org.id, team_id=team.id, user_id=users[f"{leader}@demo.groundgame.org"].id)
        )
    await session.flush()
    for hook in SEED_HOOKS:
        await hook(session, org)
    return True, DEMO_USERS


async def _demo_data(session: AsyncSession, org: Organization) -> None:
    from app.seed_demo import seed_demo_data

    await seed_demo_data(session, org)


# Features register their demo data here (zones, contacts, surveys, actions).
SEED_HOOKS: list[Callable[[AsyncSession, Organization], Awaitable[None]]] = [_demo_data]
