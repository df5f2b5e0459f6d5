"""Web Push to volunteers: their browsers' subscriptions, and the notifications (a new action assigned, a
reminder before an action starts, a task assigned, a message from HQ to a team). Notifications are queued after
commit and sent by a job (`send_push_job`), so a request never waits on a push service; a subscription the push
service answers 404 or 410 for is deleted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.datastructures import State

from app.audit import service as audit
from app.auth.principal import Principal
from app.config import PushSettings
from app.core import jobs
from app.core.db import after_commit, make_sessionmaker, set_tenant
from app.models import PushSubscription, Team, TeamMember
from app.push import keys
from app.push.schemas import PushSubscriptionCreate, PushSubscriptionRead, TeamNotify
from app.push.sender import GONE, PushClient

log = logging.getLogger("groundgame.push")
JOB = "send_push_job"
_state = State()


def _job_state() -> State:
    """Outside a request (a service called from a job or a flow without the app): a process-wide pool."""
    if getattr(_state, "settings", None) is None:
        from app.config import get_settings

        _state.settings = get_settings()
    return _state


async def subscribe(session: AsyncSession, body: PushSubscriptionCreate, *, actor: Principal) -> PushSubscriptionRead:
    """Idempotent per endpoint: the same browser subscribing again updates its keys (and its owner)."""
    stmt = pg_insert(PushSubscription).values(
        organization_id=actor.organization_id,
        user_id=actor.user_id,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["organization_id", "endpoint"],
        set_={"user_id": actor.user_id, "p256dh": body.keys.p256dh, "auth": body.keys.auth},
    ).returning(PushSubscription)
    row = (await session.scalars(upsert)).one()
    return PushSubscriptionRead.model_validate(row)


async def unsubscribe(session: AsyncSession, endpoint: str, *, actor: Principal) -> None:
    await session.execute(
        delete(PushSubscription).where(
            PushSubscription.organization_id == actor.organization_id,
            PushSubscription.user_id == actor.user_id,
            PushSubscription.endpoint == endpoint,
        )
    )


def notify_after_commit(
    session: AsyncSession,
    organization_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    payload: dict[str, Any],
    *,
    state: State | None = None,
) -> None:
    """Queue a notification to these users once the transaction commits (nothing if it rolls back)."""
    ids = sorted({str(u) for u in user_ids})
    if not ids:
        return

    async def go() -> None:
        await jobs.enqueue(state or _job_state(), JOB, str(organization_id), ids, payload)

    after_commit(session, go)


async def notify_team(session: AsyncSession, team: Team, body: TeamNotify, *, actor: Principal, state: State) -> int:
    members = list(
        await session.scalars(
            select(TeamMember.user_id).where(
                TeamMember.organization_id == team.organization_id, TeamMember.team_id == team.id
            )
        )
    )
    subscribed = set(
        await session.scalars(
            select(PushSubscription.user_id).where(
                PushSubscription.organization_id == team.organization_id, PushSubscription.user_id.in_(members)
            )
        )
    )
    payload = {"kind": "team_message", "title": body.title, "body": body.body, "url": body.url or "/", "tag": None}
    notify_after_commit(session, team.organization_id, members, payload, state=state)
    await audit.record(
        session,
        actor=actor,
        action="team.notify",
        object_type="team",
        object_id=team.id,
        details={"members": len(members), "subscribed": len(subscribed)},
    )
    return len(subscribed)


async def deliver(
    engine: AsyncEngine,
    settings: PushSettings,
    organization_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    payload: dict[str, Any],
) -> dict[str, int]:
    """Send to every subscription of these users; delete the gone ones. Returns counts (sent, gone, failed)."""
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        k = await keys.get(session)
        subs = list(
            await session.execute(
                select(PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth)
                .where(PushSubscription.organization_id == organization_id, PushSubscription.user_id.in_(user_ids))
                .order_by(PushSubscription.id)
            )
        )
    client = PushClient(k, settings)
    counts = {"sent": 0, "gone": 0, "failed": 0}
    gone: list[uuid.UUID] = []
    try:
        for sid, endpoint, p256dh, auth in subs:
            status = await client.send(endpoint, p256dh, auth, payload)
            if status in GONE:
                gone.append(sid)
                counts["gone"] += 1
            elif 200 <= status < 300:
                counts["sent"] += 1
            else:
                counts["failed"] += 1
                log.warning("push refused: %s", status, extra={"job": JOB})
    finally:
        await client.aclose()
    if gone:
        async with maker() as session, session.begin():
            await set_tenant(session, organization_id)
            await session.execute(
                delete(PushSubscription).where(
                    PushSubscription.organization_id == organization_id, PushSubscription.id.in_(gone)
                )
            )
    return counts
