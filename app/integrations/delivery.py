"""Webhook deliveries, run by the arq worker: one fan-out job per committed batch of events, then one job per
delivery, retried with exponential backoff; an endpoint that keeps failing is disabled. Requests are signed
with the Standard Webhooks scheme (webhook-id / webhook-timestamp / webhook-signature), never follow
redirects and time out quickly; the target is checked against private addresses again before each attempt."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.core.db import set_tenant
from app.core.metrics import WEBHOOK_ATTEMPTS
from app.integrations.ssrf import TargetRefused, check_target
from app.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("groundgame.webhooks")


def delivery_job_id(delivery_id: uuid.UUID | str, attempt: int) -> str:
    return f"webhook:{delivery_id}:{attempt}"


async def fanout(ctx: dict[str, Any], organization_id: str, events: list[dict[str, Any]]) -> int:
    """Create one delivery per (subscribed endpoint, event) and enqueue them. Returns how many."""
    maker: async_sessionmaker[Any] = ctx["sessionmaker"]
    org = uuid.UUID(organization_id)
    async with maker() as session, session.begin():
        await set_tenant(session, org)
        endpoints = (
            await session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                    WebhookEndpoint.organization_id == org, WebhookEndpoint.enabled
                )
            )
        ).all()
        rows = [
            {
                "organization_id": org,
                "id": uuid.uuid4(),
                "endpoint_id": ep.id,
                "event_type": e["type"],
                "payload": {"type": e["type"], "timestamp": e["timestamp"], "data": e["data"]},
            }
            for e in events
            for ep in endpoints
            if e["type"] in ep.events
        ]
        if rows:
            await session.execute(insert(WebhookDelivery), rows)
    for r in rows:
        await ctx["redis"].enqueue_job(
            "deliver_webhook", organization_id, str(r["id"]), _job_id=delivery_job_id(r["id"], 0)
        )
    return len(rows)


async def _post(settings: Settings, url: str, secret: str, msg_id: str, body: str) -> tuple[int | None, str | None]:
    try:
        await check_target(url, allow_private=settings.webhooks.allow_private_targets)
    except TargetRefused as e:
        return None, f"target refused: {e}"
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "GroundGame-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    try:
        async with httpx.AsyncClient(timeout=settings.webhooks.timeout_s, follow_redirects=False) as client:
            res = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as e:
        return None, f"{type(e).__name__}: {e}"[:300]
    return res.status_code, None if 200 <= res.status_code < 300 else f"HTTP {res.status_code}"


async def deliver(ctx: dict[str, Any], organization_id: str, delivery_id: str) -> str:
    settings: Settings = ctx["settings"]
    maker: async_sessionmaker[Any] = ctx["sessionmaker"]
    org, did = uuid.UUID(organization_id), uuid.UUID(delivery_id)
    async with maker() as session, session.begin():
        await set_tenant(session, org)
        d = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.organization_id == org, WebhookDelivery.id == did)
        )
        if d is None or d.status != "pending":
            return "skipped"
        ep = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org, WebhookEndpoint.id == d.endpoint_id)
        )
        if ep is None or not ep.enabled:
            d.status, d.last_error = "failed", "endpoint disabled"
            return "disabled"
        url, secret, payload = ep.url, ep.secret, d.payload
    # No transaction is held open during the HTTP call.
    code, error = await _post(settings, url, secret, delivery_id, json.dumps(payload, separators=(",", ":")))
    WEBHOOK_ATTEMPTS.labels("ok" if error is None else "error").inc()
    w = settings.webhooks
    async with maker() as session, session.begin():
        await set_tenant(session, org)
        d = await session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.organization_id == org, WebhookDelivery.id == did)
            .with_for_update()
        )
        ep = await session.scalar(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == org, WebhookEndpoint.id == d.endpoint_id)
            .with_for_update()
        )
        if d is None or ep is None:
            return "gone"
        d.attempts += 1
        d.last_attempt_at = datetime.now(UTC)
        d.last_status_code, d.last_error = code, error
        if error is None:
            d.status, d.delivered_at = "delivered", d.last_attempt_at
            ep.consecutive_failures = 0
            return "delivered"
        ep.consecutive_failures += 1
        if ep.consecutive_failures >= w.disable_after_failures:
            ep.enabled = False
            ep.disabled_reason = f"disabled after {ep.consecutive_failures} failed attempts in a row"
            d.status = "failed"
            log.warning("webhook endpoint disabled", extra={"endpoint_id": str(ep.id)})
            return "endpoint disabled"
        if d.attempts >= w.max_attempts:
            d.status = "failed"
            return "failed"
        attempts = d.attempts
    # No job id on retries: a replay resets the attempts, and arq would drop a job id it still remembers.
    await ctx["redis"].enqueue_job(
        "deliver_webhook", organization_id, delivery_id, _defer_by=w.backoff_base_s * 2 ** (attempts - 1)
    )
    return "retry"
