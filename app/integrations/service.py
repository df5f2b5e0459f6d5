"""API keys and webhook endpoints of an organization (admins only: the routes say so)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.dependencies import API_KEY_PREFIX
from app.auth.principal import Principal
from app.config import Settings
from app.core import pagination
from app.core.errors import NotFound, Unprocessable
from app.core.security import hash_token
from app.integrations.schemas import ApiKeyCreate, ApiKeyCreated, WebhookCreate, WebhookCreated, WebhookUpdate
from app.integrations.ssrf import Resolver, TargetRefused, check_target
from app.models import ApiKey, WebhookDelivery, WebhookEndpoint


async def create_key(session: AsyncSession, body: ApiKeyCreate, *, actor: Principal) -> ApiKeyCreated:
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row = ApiKey(
        organization_id=actor.organization_id,
        name=body.name,
        prefix=prefix,
        key_hash=hash_token(key),
        scopes=sorted({s.value for s in body.scopes}),
        created_by=actor.user_id,
        expires_at=expires,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="api_key.create",
        object_type="api_key",
        object_id=row.id,
        details={"scopes": row.scopes, "name": row.name},
    )
    return ApiKeyCreated(**{k: getattr(row, k) for k in ApiKeyCreated.model_fields if k != "key"}, key=key)


async def list_keys(session: AsyncSession, *, actor: Principal) -> list[ApiKey]:
    q = select(ApiKey).where(ApiKey.organization_id == actor.organization_id).order_by(ApiKey.created_at.desc())
    return list((await session.scalars(q)).all())


async def revoke_key(session: AsyncSession, key_id: uuid.UUID, *, actor: Principal) -> None:
    res = await session.execute(
        update(ApiKey)
        .where(ApiKey.organization_id == actor.organization_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
        .returning(ApiKey.id)
    )
    if res.first() is None:
        exists = await session.scalar(
            select(ApiKey.id).where(ApiKey.organization_id == actor.organization_id, ApiKey.id == key_id)
        )
        if exists is None:
            raise NotFound("No such API key.")
        return  # already revoked: revoking is idempotent
    await audit.record(session, actor=actor, action="api_key.revoke", object_type="api_key", object_id=key_id)


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def validate_target(url: str, settings: Settings, resolve: Resolver | None = None) -> None:
    w = settings.webhooks
    try:
        await check_target(
            url, allow_private=w.allow_private_targets, allowed_networks=w.allowed_networks, resolve=resolve
        )
    except TargetRefused as e:
        raise Unprocessable(f"The webhook URL {e}.", details=[{"field": "url", "message": str(e)}]) from e


async def create_webhook(
    session: AsyncSession,
    body: WebhookCreate,
    *,
    actor: Principal,
    settings: Settings,
    resolve: Resolver | None = None,
) -> WebhookCreated:
    await validate_target(body.url, settings, resolve)
    row = WebhookEndpoint(
        organization_id=actor.organization_id,
        url=body.url,
        events=sorted(set(body.events)),
        secret=new_webhook_secret(),
        description=body.description,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="webhook.create",
        object_type="webhook",
        object_id=row.id,
        details={"events": row.events},
    )
    return WebhookCreated(**{k: getattr(row, k) for k in WebhookCreated.model_fields})


async def get_webhook(session: AsyncSession, webhook_id: uuid.UUID, *, actor: Principal) -> WebhookEndpoint:
    row = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == actor.organization_id, WebhookEndpoint.id == webhook_id
        )
    )
    if row is None:
        raise NotFound("No such webhook endpoint.")
    return row


async def list_webhooks(session: AsyncSession, *, actor: Principal) -> list[WebhookEndpoint]:
    q = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == actor.organization_id)
    return list((await session.scalars(q.order_by(WebhookEndpoint.created_at))).all())


async def update_webhook(
    session: AsyncSession, webhook_id: uuid.UUID, body: WebhookUpdate, *, actor: Principal
) -> WebhookEndpoint:
    row = await get_webhook(session, webhook_id, actor=actor)
    data: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "events" in data:
        row.events = sorted(set(data["events"]))
    if "description" in data:
        row.description = data["description"]
    if data.get("enabled") is True:
        row.enabled, row.consecutive_failures, row.disabled_reason = True, 0, None
    elif data.get("enabled") is False:
        row.enabled, row.disabled_reason = False, "disabled by an admin"
    await session.flush()
    return row


async def delete_webhook(session: AsyncSession, webhook_id: uuid.UUID, *, actor: Principal) -> None:
    row = await get_webhook(session, webhook_id, actor=actor)
    await session.delete(row)
    await audit.record(session, actor=actor, action="webhook.delete", object_type="webhook", object_id=webhook_id)


async def list_deliveries(
    session: AsyncSession, webhook_id: uuid.UUID, *, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    """Newest first; keyset pages on (created_at, id)."""
    await get_webhook(session, webhook_id, actor=actor)
    q = select(WebhookDelivery).where(
        WebhookDelivery.organization_id == actor.organization_id, WebhookDelivery.endpoint_id == webhook_id
    )
    if (last := pagination.after(cursor, datetime.fromisoformat, uuid.UUID)) is not None:
        q = q.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(literal(last[0]), literal(last[1])))
    q = q.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(q)).all())
    return pagination.cut(rows, limit, lambda d: [d.created_at.isoformat(), str(d.id)])


async def replay(session: AsyncSession, delivery_id: uuid.UUID, *, actor: Principal) -> WebhookDelivery:
    row = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.organization_id == actor.organization_id, WebhookDelivery.id == delivery_id
        )
    )
    if row is None:
        raise NotFound("No such delivery.")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, None
    await session.flush()
    return row
