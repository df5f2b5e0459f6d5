from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.push import keys, service
from app.push.schemas import (
    PushPublicKey,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
    PushSubscriptionRead,
    TeamNotify,
    TeamNotifyRead,
)
from app.teams import service as teams

router = APIRouter(tags=["push"])
Sender = Annotated[Principal, require(Perm.send_messages)]


@router.get("/me/push-subscriptions/public-key", operation_id="push-public-key")
async def public_key(session: SessionDep, user: CurrentUser) -> PushPublicKey:
    """The server's VAPID public key, for `pushManager.subscribe({applicationServerKey})`. Generated once and
    kept in the database, so it does not change across restarts."""
    return PushPublicKey(public_key=(await keys.get(session)).public_key)


@router.post("/me/push-subscriptions", status_code=201, operation_id="push-subscriptions-create")
async def subscribe(body: PushSubscriptionCreate, session: SessionDep, user: CurrentUser) -> PushSubscriptionRead:
    """Register this browser for notifications (a new action assigned to you, a reminder before an action
    starts, a task assigned to you, a message from HQ to your team). Subscribing again is harmless."""
    return await service.subscribe(session, body, actor=user)


@router.delete("/me/push-subscriptions", status_code=204, operation_id="push-subscriptions-delete")
async def unsubscribe(body: PushSubscriptionDelete, session: SessionDep, user: CurrentUser) -> Response:
    """Stop notifications to this browser (by its endpoint); nothing happens for an unknown one."""
    await service.unsubscribe(session, body.endpoint, actor=user)
    return Response(status_code=204)


@router.post("/teams/{team_id}/notify", operation_id="teams-notify")
async def notify_team(
    team_id: uuid.UUID, body: TeamNotify, session: SessionDep, user: Sender, request: Request
) -> TeamNotifyRead:
    """A push notification from HQ to every member of a team (on each browser they subscribed); audited."""
    team = await teams.get(session, team_id, actor=user)
    n = await service.notify_team(session, team, body, actor=user, state=request.app.state)
    return TeamNotifyRead(recipients=n)
