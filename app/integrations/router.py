"""API keys and webhooks: organization admins only (no key scope grants these routes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.auth.dependencies import Admin
from app.core.db import SessionDep, after_commit
from app.core.jobs import enqueue
from app.core.pagination import CursorQ, LimitQ, Page
from app.integrations import service
from app.integrations.events import EVENT_TYPES
from app.integrations.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(tags=["integrations"])


@router.post("/api-keys", status_code=201, operation_id="api-keys-create")
async def create_key(body: ApiKeyCreate, session: SessionDep, user: Admin) -> ApiKeyCreated:
    return await service.create_key(session, body, actor=user)


@router.get("/api-keys", operation_id="api-keys-list")
async def list_keys(session: SessionDep, user: Admin) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in await service.list_keys(session, actor=user)]


@router.delete("/api-keys/{key_id}", status_code=204, operation_id="api-keys-revoke")
async def revoke_key(key_id: uuid.UUID, session: SessionDep, user: Admin) -> Response:
    await service.revoke_key(session, key_id, actor=user)
    return Response(status_code=204)


@router.get("/webhooks/event-types", operation_id="webhooks-event-types")
async def event_types(user: Admin) -> list[str]:
    return list(EVENT_TYPES)


@router.post("/webhooks", status_code=201, operation_id="webhooks-create")
async def create_webhook(body: WebhookCreate, request: Request, session: SessionDep, user: Admin) -> WebhookCreated:
    return await service.create_webhook(
        session,
        body,
        actor=user,
        settings=request.app.state.settings,
        resolve=getattr(request.app.state, "webhook_resolver", None),
    )


@router.get("/webhooks", operation_id="webhooks-list")
async def list_webhooks(session: SessionDep, user: Admin) -> list[WebhookRead]:
    return [WebhookRead.model_validate(w) for w in await service.list_webhooks(session, actor=user)]


@router.get("/webhooks/{webhook_id}", operation_id="webhooks-read")
async def read_webhook(webhook_id: uuid.UUID, session: SessionDep, user: Admin) -> WebhookRead:
    return WebhookRead.model_validate(await service.get_webhook(session, webhook_id, actor=user))


@router.patch("/webhooks/{webhook_id}", operation_id="webhooks-update")
async def update_webhook(webhook_id: uuid.UUID, body: WebhookUpdate, session: SessionDep, user: Admin) -> WebhookRead:
    return WebhookRead.model_validate(await service.update_webhook(session, webhook_id, body, actor=user))


@router.delete("/webhooks/{webhook_id}", status_code=204, operation_id="webhooks-delete")
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, user: Admin) -> Response:
    await service.delete_webhook(session, webhook_id, actor=user)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", operation_id="webhooks-deliveries-list")
async def list_deliveries(
    webhook_id: uuid.UUID, session: SessionDep, user: Admin, limit: LimitQ = 100, cursor: CursorQ = None
) -> Page[DeliveryRead]:
    rows, nxt = await service.list_deliveries(session, webhook_id, actor=user, limit=limit, cursor=cursor)
    return Page[DeliveryRead](items=[DeliveryRead.model_validate(d) for d in rows], next_cursor=nxt)


@router.post("/webhooks/deliveries/{delivery_id}/replay", status_code=202, operation_id="webhooks-deliveries-replay")
async def replay(delivery_id: uuid.UUID, request: Request, session: SessionDep, user: Admin) -> DeliveryRead:
    d = await service.replay(session, delivery_id, actor=user)
    org, did = str(d.organization_id), str(d.id)

    async def send() -> None:
        await enqueue(request.app.state, "deliver_webhook", org, did)

    after_commit(session, send)
    return DeliveryRead.model_validate(d)
