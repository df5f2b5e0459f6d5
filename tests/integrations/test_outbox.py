"""The webhook outbox: an event is written in the transaction of its change, so Redis being down at commit (the
kick lost) loses nothing: the sweeper fans it out later, and each endpoint receives it exactly once, under one
webhook-id, however many times the fan-out and the sweep run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.core.db import set_tenant
from app.core.embedded import free_port
from app.integrations import delivery, events
from app.integrations.delivery import dispatch, sweep
from app.models import WebhookDelivery, WebhookOutbox
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.integrations.test_webhooks import API, Receiver, _endpoint, _until


@pytest.fixture
def receivers(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Receiver, Receiver]]:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    monkeypatch.setattr(settings.webhooks, "sweep_grace_s", 0.0)
    pair = (Receiver(), Receiver())
    yield pair
    for r in pair:
        r.server.shutdown()


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


@pytest.fixture
def redis_down_for_the_kick(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The after-commit kick goes to a Redis that is not there (the request's commit does not depend on it)."""
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    monkeypatch.setattr(events._state, "settings", dead, raising=False)
    monkeypatch.setattr(events._state, "arq", None, raising=False)
    monkeypatch.setattr(events._state, "pending_jobs", None, raising=False)


async def _outbox(db: AsyncSession, org: uuid.UUID) -> list[Any]:
    await set_tenant(db, org)
    q = select(WebhookOutbox.dispatched_at, WebhookOutbox.payload).where(WebhookOutbox.organization_id == org)
    rows = list((await db.execute(q)).all())
    await db.rollback()
    return rows


async def test_an_event_committed_while_redis_is_down_is_delivered_later_once_per_endpoint(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    receivers: tuple[Receiver, Receiver],
    arq_worker: Any,
    redis_down_for_the_kick: None,
) -> None:
    org = admin.org.id
    eps = [await _endpoint(live_client, admin, r.url, ["contact.created"]) for r in receivers]
    res = await live_client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=admin.headers)
    assert res.status_code == 201
    contact_id = res.json()["id"]
    [row] = await _outbox(live_db, org)
    assert row.dispatched_at is None and row.payload["data"]["contact_id"] == contact_id
    await asyncio.sleep(0.5)
    assert all(not r.requests for r in receivers)  # the kick was lost: nothing sent yet

    # The sweeper (cron) finds it; a second sweep and a second fan-out of the same events change nothing.
    assert await sweep(arq_worker.ctx) >= 1
    await sweep(arq_worker.ctx)
    await dispatch(arq_worker.ctx, str(org))

    async def both() -> bool:
        return all(r.requests for r in receivers)

    await _until(both)
    await asyncio.sleep(0.5)
    ids = []
    for r, ep in zip(receivers, eps, strict=True):
        assert len(r.requests) == 1
        headers, body = r.requests[0]
        assert Webhook(ep["secret"]).verify(body, headers)["data"]["contact_id"] == contact_id
        ids.append(headers["webhook-id"])
    assert len(set(ids)) == 2
    [row] = await _outbox(live_db, org)
    assert row.dispatched_at is not None


async def test_a_delivery_whose_first_attempt_was_lost_is_sent_by_the_sweeper_exactly_once(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    receivers: tuple[Receiver, Receiver],
    arq_worker: Any,
    redis_down_for_the_kick: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = admin.org.id
    receiver = receivers[0]
    await _endpoint(live_client, admin, receiver.url, ["contact.created"])
    assert (
        await live_client.post(f"{API}/contacts", json={"first_name": "Bo"}, headers=admin.headers)
    ).status_code == 201
    # A worker fanned out and died right after its commit, before the first attempt: a pending row, no job.
    with monkeypatch.context() as m:
        m.setattr(delivery, "first_attempts", _died)
        assert await dispatch(arq_worker.ctx, str(org)) == 1
    await asyncio.sleep(0.3)
    assert not receiver.requests
    await sweep(arq_worker.ctx)
    await sweep(arq_worker.ctx)

    async def got() -> bool:
        return bool(receiver.requests)

    await _until(got)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    await set_tenant(live_db, org)
    statuses = (
        await live_db.scalars(select(WebhookDelivery.status).where(WebhookDelivery.organization_id == org))
    ).all()
    await live_db.rollback()
    assert statuses == ["delivered"]


async def _died(*args: Any) -> None:
    """The worker is gone before its first attempts: none is made, none is queued."""


class _NoQueue:
    """A Redis that takes no job: what the fan-out does itself still happens."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, ...]] = []

    async def enqueue_job(self, *args: Any, **kw: Any) -> None:
        self.jobs.append(args)


async def test_the_fan_out_makes_the_first_attempts_itself_without_a_job_per_delivery(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    receivers: tuple[Receiver, Receiver],
    arq_worker: Any,
    redis_down_for_the_kick: None,
) -> None:
    org = admin.org.id
    eps = [await _endpoint(live_client, admin, r.url, ["contact.created"]) for r in receivers]
    for name in ("Ana", "Bo", "Cy"):
        res = await live_client.post(f"{API}/contacts", json={"first_name": name}, headers=admin.headers)
        assert res.status_code == 201
    queue = _NoQueue()
    assert await dispatch({**arq_worker.ctx, "redis": queue}, str(org)) == 6
    assert queue.jobs == []
    for r, ep in zip(receivers, eps, strict=True):
        assert len(r.requests) == 3 and len({h["webhook-id"] for h, _ in r.requests}) == 3
        for headers, body in r.requests:
            Webhook(ep["secret"]).verify(body, headers)
    await set_tenant(live_db, org)
    statuses = (
        await live_db.scalars(select(WebhookDelivery.status).where(WebhookDelivery.organization_id == org))
    ).all()
    await live_db.rollback()
    assert statuses == ["delivered"] * 6


async def test_first_attempts_past_the_fan_outs_time_budget_are_queued_and_delivered_once(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    receivers: tuple[Receiver, Receiver],
    arq_worker: Any,
    redis_down_for_the_kick: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = admin.org.id
    receiver = receivers[0]
    await _endpoint(live_client, admin, receiver.url, ["contact.created"])
    for name in ("Ana", "Bo"):
        res = await live_client.post(f"{API}/contacts", json={"first_name": name}, headers=admin.headers)
        assert res.status_code == 201
    monkeypatch.setattr(delivery, "FIRST_ATTEMPTS_BUDGET_S", 0.0)  # a slow endpoint used it all up
    queue = _NoQueue()
    assert await dispatch({**arq_worker.ctx, "redis": queue}, str(org)) == 2
    assert not receiver.requests and [j[0] for j in queue.jobs] == ["deliver_webhook"] * 2
    await asyncio.gather(*(arq_worker.ctx["redis"].enqueue_job(*j) for j in queue.jobs))

    async def both() -> bool:
        return len(receiver.requests) == 2

    await _until(both)
    await asyncio.sleep(0.5)
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 2 and len(receiver.requests) == 2
