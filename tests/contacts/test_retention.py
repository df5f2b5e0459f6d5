"""GDPR retention: the daily job erases the contacts with no activity for longer than the organization says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import make_sessionmaker, set_tenant
from app.models import AuditLog, Contact
from app.worker import apply_contact_retention
from tests.fixtures.factories import make_actor, make_org


async def test_retention_erases_only_contacts_idle_for_longer_than_the_setting(
    live_client: AsyncClient, live_db: AsyncSession, engine: AsyncEngine
) -> None:
    org = await make_org(live_db)
    admin = await make_actor(live_db, org, "admin")
    other = await make_org(live_db)  # no retention: nothing of theirs goes
    other_admin = await make_actor(live_db, other, "admin")
    await live_db.commit()
    r = await live_client.patch("/api/v1/organization", json={"contact_retention_days": 365}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["contact_retention_days"] == 365
    bad = await live_client.patch("/api/v1/organization", json={"contact_retention_days": 0}, headers=admin.headers)
    assert bad.status_code == 422
    ids = {}
    for who, actor in (("old", admin), ("recent", admin), ("other", other_admin)):
        body = {"first_name": who, "last_name": "Retained"}
        ids[who] = (await live_client.post("/api/v1/contacts", json=body, headers=actor.headers)).json()["id"]
    long_ago = datetime.now(UTC) - timedelta(days=400)
    for o, who in ((org, "old"), (other, "other")):
        await set_tenant(live_db, o.id)
        await live_db.execute(
            update(Contact).where(Contact.id == ids[who]).values(created_at=long_ago, updated_at=long_ago)
        )
        await live_db.commit()

    erased = await apply_contact_retention({"engine": engine, "sessionmaker": make_sessionmaker(engine)})

    assert erased == 1
    await set_tenant(live_db, org.id)
    left = set((await live_db.scalars(select(Contact.first_name).where(Contact.organization_id == org.id))).all())
    assert left == {"recent"}
    audit = await live_db.scalar(
        select(func.count()).where(AuditLog.object_id == ids["old"], AuditLog.action == "contact.erased")
    )
    assert audit == 1
    await live_db.commit()
    await set_tenant(live_db, other.id)
    assert await live_db.scalar(select(func.count()).where(Contact.organization_id == other.id)) == 1
