"""Webhook deliveries, run by the arq worker. `dispatch` turns an organization's outbox events (written in the
transaction of their change) into one delivery per subscribed endpoint, with an id derived from (event,
endpoint): the `webhook-id` a receiver sees, so however often an event is fanned out each endpoint gets it under
one id. The fan-out makes each new delivery's first attempt itself; `deliver` makes one attempt under a lease
(`next_attempt_at`), so two runs for one delivery never send it twice, and queues retries with exponential
backoff; an endpoint that keeps failing is disabled. `sweep` (cron) fans out what a lost kick left in the outbox
and queues again deliveries whose attempt was lost.

Requests are signed with the Standard Webhooks scheme (webhook-id / webhook-timestamp / webhook-signature),
never follow redirects, time out quickly, and go to the address checked just before (DNS pinning: see ssrf)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.core.db import set_tenant
from app.core.metrics import WEBHOOK_ATTEMPTS
from app.integrations.ssrf import Resolver, TargetRefused, check_target
from app.models import WebhookDelivery, WebhookEndpoint, WebhookOutbox

log = logging.getLogger("groundgame.webhooks")
DELIVERY_NS = uuid.UUID("6f1c1f0e-3f55-4d0c-9b7e-5e0d7c1b9a11")
DISPATCH_BATCH = 500
FIRST_ATTEMPTS_AT_ONCE = 8  # per fan-out: an endpoint's kept-alive client opens at most this many connections
FIRST_ATTEMPTS_BUDGET_S = 2.0  # then the fan-out queues the rest of its first attempts as jobs
LEASE_MARGIN_S = 30.0  # a running attempt's lease: the request timeout plus this


def delivery_job_id(delivery_id: uuid.UUID | str, attempt: int) -> str:
    return f"webhook:{delivery_id}:{attempt}"


def delivery_id(organization_id: uuid.UUID, outbox_id: int, endpoint_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(DELIVERY_NS, f"{organization_id}:{outbox_id}:{endpoint_id}")


async def dispatch(ctx: dict[str, Any], organization_id: str) -> int:
    """Fan out the organization's undispatched outbox events (a batch at a time). Returns deliveries created."""
    maker: async_sessionmaker[Any] = ctx["sessionmaker"]
    org = uuid.UUID(organization_id)
    created: list[uuid.UUID] = []
    more = True
    while more:
        async with maker() as session, session.begin():
            await set_tenant(session, org)
            events = (
                await session.execute(
                    select(WebhookOutbox.id, WebhookOutbox.event_type, WebhookOutbox.payload)
                    .where(WebhookOutbox.organization_id == org, WebhookOutbox.dispatched_at.is_(None))
                    .order_by(WebhookOutbox.id)
                    .limit(DISPATCH_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            more = len(events) == DISPATCH_BATCH
            if not events:
                break
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
                    "id": delivery_id(org, e.id, ep.id),
                    "endpoint_id": ep.id,
                    "event_type": e.event_type,
                    "payload": e.payload,
                }
                for e in events
                for ep in endpoints
                if e.event_type in ep.events
            ]
            batch: list[uuid.UUID] = []
            if rows:
                res = await session.execute(
                    pg_insert(WebhookDelivery).values(rows).on_conflict_do_nothing().returning(WebhookDelivery.id)
                )
                batch = list(res.scalars())
            await session.execute(
                update(WebhookOutbox)
                .where(WebhookOutbox.organization_id == org, WebhookOutbox.id.in_([e.id for e in events]))
                .values(dispatched_at=datetime.now(UTC))
            )
        # After commit: the first attempts, from here (a job per delivery spent more of the worker on queueing
        # and bookkeeping than on the attempt, and waited its turn behind the queue); retries are jobs.
        await first_attempts(ctx, organization_id, batch)
        created += batch
    return len(created)


async def first_attempts(ctx: dict[str, Any], organization_id: str, ids: list[uuid.UUID]) -> None:
    """Each new delivery's first attempt, FIRST_ATTEMPTS_AT_ONCE at a time, under the same lease as a job's (a
    sweep racing it sends nothing twice). Those not started within FIRST_ATTEMPTS_BUDGET_S (slow endpoints: the
    fan-out must not hold a worker's job slot for long) and one that cannot run are queued as jobs; one lost
    with this worker (it died after the fan-out's commit) is found by the sweeper: a pending delivery past its
    time."""
    gate = asyncio.Semaphore(FIRST_ATTEMPTS_AT_ONCE)
    deadline = time.monotonic() + FIRST_ATTEMPTS_BUDGET_S

    async def queue(did: uuid.UUID) -> None:
        await ctx["redis"].enqueue_job("deliver_webhook", organization_id, str(did), _job_id=delivery_job_id(did, 0))

    async def one(did: uuid.UUID) -> None:
        async with gate:
            if time.monotonic() > deadline:
                await queue(did)
                return
            try:
                await deliver(ctx, organization_id, str(did))
            except Exception:
                log.warning(
                    "webhook first attempt failed to run; queued", exc_info=True, extra={"delivery_id": str(did)}
                )
                await queue(did)

    await asyncio.gather(*(one(did) for did in ids))


class Clients:
    """One HTTP client per endpoint, kept by the worker: its connections stay alive from one delivery to the next
    (no TCP or TLS handshake per event), and one TLS context serves all (building one costs milliseconds). The
    least recently used client beyond `size` is closed."""

    def __init__(self, timeout_s: float, size: int = 256) -> None:
        self.timeout_s, self.size = timeout_s, size
        self._tls: ssl.SSLContext | None = None
        self._clients: OrderedDict[tuple[uuid.UUID, str], httpx.AsyncClient] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, endpoint_id: uuid.UUID, url: str) -> httpx.AsyncClient:
        key = (endpoint_id, url)
        client = self._clients.pop(key, None)
        if client is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            client = httpx.AsyncClient(
                timeout=self.timeout_s, follow_redirects=False, trust_env=False, verify=self._tls
            )
            while len(self._clients) >= self.size:
                _, old = self._clients.popitem(last=False)
                task = asyncio.create_task(old.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for c in clients:
            await c.aclose()


def clients(ctx: dict[str, Any]) -> Clients:
    if ctx.get("webhook_clients") is None:
        ctx["webhook_clients"] = Clients(ctx["settings"].webhooks.timeout_s)
    c: Clients = ctx["webhook_clients"]
    return c


async def _post(
    settings: Settings,
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    msg_id: str,
    body: str,
    resolve: Resolver | None,
) -> tuple[int | None, str | None]:
    w = settings.webhooks
    try:
        target = await check_target(
            url, allow_private=w.allow_private_targets, allowed_networks=w.allowed_networks, resolve=resolve
        )
    except TargetRefused as e:
        return None, f"target refused: {e}"
    now = datetime.now(UTC)
    headers = {
        "host": target.host_header,
        "content-type": "application/json",
        "user-agent": "GroundGame-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    # To the checked address, never a second resolution; TLS still verifies the certificate for the name.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        res = await client.post(target.pinned_url, content=body.encode(), headers=headers, extensions=extensions)
    except httpx.HTTPError as e:
        return None, f"{type(e).__name__}: {e}"[:300]
    return res.status_code, None if 200 <= res.status_code < 300 else f"HTTP {res.status_code}"


async def deliver(ctx: dict[str, Any], organization_id: str, delivery_id: str) -> str:
    """One attempt: take the lease (one statement reads the delivery, locked, its endpoint and the database's
    clock), send with no transaction open, record the outcome. The endpoint's row is locked only to count a
    failure (or clear a failure count): deliveries to one endpoint don't take turns on it."""
    settings: Settings = ctx["settings"]
    maker: async_sessionmaker[Any] = ctx["sessionmaker"]
    w = settings.webhooks
    org, did = uuid.UUID(organization_id), uuid.UUID(delivery_id)
    async with maker() as session, session.begin():
        await set_tenant(session, org)
        row = (
            await session.execute(
                select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret, WebhookEndpoint.enabled)
                .add_columns(func.clock_timestamp())
                .outerjoin(
                    WebhookEndpoint,
                    (WebhookEndpoint.organization_id == WebhookDelivery.organization_id)
                    & (WebhookEndpoint.id == WebhookDelivery.endpoint_id),
                )
                .where(WebhookDelivery.organization_id == org, WebhookDelivery.id == did)
                .with_for_update(of=WebhookDelivery)
            )
        ).one_or_none()
        if row is None or row[0].status != "pending":
            return "skipped"
        d, url, secret, enabled, now = row
        if d.next_attempt_at is not None and d.next_attempt_at > now + timedelta(seconds=1):
            return "not due"  # another job holds the lease, or the backoff is not over: that job will send it
        if not enabled:
            d.status, d.last_error = "failed", "endpoint disabled"
            return "disabled"
        d.next_attempt_at = now + timedelta(seconds=w.timeout_s + LEASE_MARGIN_S)
        payload, client = d.payload, clients(ctx).get(d.endpoint_id, url)
    # No transaction is held open during the HTTP call.
    started = time.perf_counter()
    body = json.dumps(payload, separators=(",", ":"))
    code, error = await _post(settings, client, url, secret, delivery_id, body, ctx.get("webhook_resolver"))
    WEBHOOK_ATTEMPTS.labels("ok" if error is None else "error").inc()
    log.debug("webhook attempt", extra={"delivery_id": delivery_id, "ms": int((time.perf_counter() - started) * 1000)})
    async with maker() as session, session.begin():
        await set_tenant(session, org)
        d = await session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.organization_id == org, WebhookDelivery.id == did)
            .with_for_update()
        )
        if d is None:
            return "gone"
        endpoint = (WebhookEndpoint.organization_id == org) & (WebhookEndpoint.id == d.endpoint_id)
        d.attempts += 1
        d.last_attempt_at = datetime.now(UTC)
        d.last_status_code, d.last_error = code, error
        if error is None:
            d.status, d.delivered_at, d.next_attempt_at = "delivered", d.last_attempt_at, None
            await session.execute(
                update(WebhookEndpoint)
                .where(endpoint, WebhookEndpoint.consecutive_failures != 0)
                .values(consecutive_failures=0)
            )
            return "delivered"
        failures = await session.scalar(
            update(WebhookEndpoint)
            .where(endpoint)
            .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
            .returning(WebhookEndpoint.consecutive_failures)
        )
        if failures is None:
            return "gone"
        if failures >= w.disable_after_failures:
            await session.execute(
                update(WebhookEndpoint)
                .where(endpoint)
                .values(enabled=False, disabled_reason=f"disabled after {failures} failed attempts in a row")
            )
            d.status, d.next_attempt_at = "failed", None
            log.warning("webhook endpoint disabled", extra={"endpoint_id": str(d.endpoint_id)})
            return "endpoint disabled"
        if d.attempts >= w.max_attempts:
            d.status, d.next_attempt_at = "failed", None
            return "failed"
        wait = w.backoff_base_s * 2 ** (d.attempts - 1)
        d.next_attempt_at = d.last_attempt_at + timedelta(seconds=wait)
    # No job id on retries: a replay resets the attempts, and arq would drop a job id it still remembers.
    await ctx["redis"].enqueue_job("deliver_webhook", organization_id, delivery_id, _defer_by=wait)
    return "retry"


async def sweep(ctx: dict[str, Any]) -> int:
    """Cron: fan out outbox events no kick reached, queue again pending deliveries past their time (their job
    was lost: Redis down, a worker killed). Leases and the outbox's row locks make a duplicate harmless."""
    grace = ctx["settings"].webhooks.sweep_grace_s
    async with ctx["engine"].connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM gg_webhook_backlog(:g)"), {"g": grace})).all()
    stamp = int(time.time() // max(grace, 1))
    for kind, org, did in rows:
        if kind == "outbox":
            await ctx["redis"].enqueue_job("webhook_dispatch", str(org), _job_id=f"webhook-dispatch:{org}:{stamp}")
        else:
            await ctx["redis"].enqueue_job(
                "deliver_webhook", str(org), str(did), _job_id=f"webhook:{did}:sweep:{stamp}"
            )
    return len(rows)
