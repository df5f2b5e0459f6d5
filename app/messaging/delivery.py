"""Sending a campaign: batches, a status per message, temporary failures retried with backoff (the channel and
the test send to oneself: app/messaging/channel.py). The job takes ids, sets the tenant itself, and is safe to
run twice: a message is claimed (`sending`) and committed before it is handed to the provider, so a second run
never sends it again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import MessagingSettings
from app.core import paths
from app.core.db import make_sessionmaker, set_tenant
from app.messaging import audience, quiet, unsubscribe
from app.messaging.channel import Channel, Result, compile_campaign, send_batch
from app.messaging.senders import SmsProvider
from app.models import Campaign, CampaignMessage, Organization

log = logging.getLogger("groundgame.messaging")
Clock = Callable[[], datetime]
HOLD_S = 30.0  # a run waits in place for a retry due sooner than this; later, it ends and is deferred


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _load(session: AsyncSession, organization_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign | None:
    await set_tenant(session, organization_id)
    c: Campaign | None = await session.scalar(
        select(Campaign)
        .where(Campaign.organization_id == organization_id, Campaign.id == campaign_id)
        .with_for_update()
    )
    return c


async def run_campaign(
    engine: AsyncEngine,
    settings: MessagingSettings,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    secret: str,
    sms: SmsProvider | None = None,
    clock: Clock = utcnow,
    redis: Redis | None = None,
) -> str:
    """One run at a time per campaign (a session advisory lock on a connection of its own): a second job for the
    same campaign returns "busy" and leaves the sending to the first."""
    async with engine.connect() as lock:
        key = {"k": f"campaign:{campaign_id}"}
        got = await lock.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), key)
        await lock.commit()
        if not got:
            return "busy"
        try:
            return await _run(
                make_sessionmaker(engine),
                settings,
                organization_id,
                campaign_id,
                secret=secret,
                sms=sms,
                clock=clock,
                redis=redis,
            )
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key)
            await lock.commit()


async def _run(
    maker: async_sessionmaker[AsyncSession],
    settings: MessagingSettings,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    secret: str,
    sms: SmsProvider | None,
    clock: Clock,
    redis: Redis | None = None,
) -> str:
    """Send a campaign until nothing is due; returns why it stopped (done, paused, cancelled, gone; `later`: its
    time has not come; `held`: what is left waits more than HOLD_S, for a retry or the end of quiet hours)."""
    async with maker() as session, session.begin():
        c = await _load(session, organization_id, campaign_id)
        if c is None:
            return "gone"
        if c.status == "scheduled" and c.scheduled_at and c.scheduled_at > clock():
            return "later"
        if c.status not in ("scheduled", "sending"):
            return c.status
        # Messages a previous run claimed but never recorded (its worker died mid-batch) may have been delivered:
        # they are never sent again (nobody gets a message twice); they are failed, saying why.
        await audience.fail_interrupted(session, c)
        if c.recipients_at is None:
            n = await audience.materialize(session, c)
            c.recipients_at = func.now()
            log.info("campaign recipients chosen: %d", n, extra={"job": "send_campaign"})
        c.status = "sending"
        c.started_at = c.started_at or datetime.now(UTC)
        compiled = compile_campaign(c)
        channel_name = c.channel
        org_tz = await session.scalar(select(Organization.timezone).where(Organization.id == organization_id))
    callback = settings.public_url.rstrip("/") + paths.sms_status(organization_id)
    channel = Channel(
        channel_name, settings, sms, status_callback=callback, organization_id=organization_id, redis=redis
    )

    def link(contact_id: uuid.UUID) -> str:
        return unsubscribe.url(settings.public_url, unsubscribe.token(secret, organization_id, contact_id, campaign_id))

    async def step(*, last: bool) -> tuple[str, Any]:
        """One transaction: the campaign still sending, SMS in quiet hours held, a batch claimed. Returns
        ("stop", status), ("rows", rows), or, with nothing due: when `last` (every result recorded) the campaign
        is done, or ("wait", when the first retry is due); else ("none", None)."""
        async with maker() as session, session.begin():
            c = await _load(session, organization_id, campaign_id)
            if c is None or c.status != "sending":
                return ("stop", c.status if c else "gone")
            now = clock()
            if channel_name == "sms":
                start, end = settings.quiet_hours_start, settings.quiet_hours_end
                tz, size = org_tz or "UTC", settings.batch_size
                while await quiet.hold(session, c, org_tz=tz, start=start, end=end, now=now, size=size):
                    pass
            rows = await audience.claim(session, c, size=settings.batch_size, now=now)
            if rows or not last:
                return ("rows", rows) if rows else ("none", None)
            next_at = await session.scalar(
                select(func.min(CampaignMessage.next_attempt_at)).where(
                    CampaignMessage.organization_id == organization_id,
                    CampaignMessage.campaign_id == campaign_id,
                    CampaignMessage.status == "queued",
                )
            )
            if next_at is None:
                c.status = "done"
                c.finished_at = datetime.now(UTC)
                return ("stop", "done")
            return ("wait", (next_at - now).total_seconds())

    async def record(results: list[Result]) -> None:
        async with maker() as session, session.begin():
            await set_tenant(session, organization_id)
            c = await session.get(Campaign, (organization_id, campaign_id))
            assert c is not None
            await audience.record_results(session, c, results)

    # A pipeline one batch deep, so the database work hides behind the provider's: while a batch is sent, the
    # previous one's results are recorded and the next one is claimed (on connections of their own). A claim
    # made ahead is checked again before it is sent (a pause or cancel since is honoured after one batch, and
    # what it claimed is given back); a SIGKILL leaves at most two batches `sending`, failed as interrupted by
    # the next run, never sent twice.
    ahead: asyncio.Task[tuple[str, Any]] | None = None
    recording: asyncio.Task[None] | None = None
    try:
        while True:
            got: tuple[str, Any] = ("none", None)
            if ahead is not None:
                got, ahead = await ahead, None
                if got[0] == "rows":
                    status = await _status(maker, organization_id, campaign_id)
                    if status != "sending":
                        await _give_back(maker, organization_id, got[1], status)
                        return status or "gone"
            if got[0] != "rows":
                if recording is not None:
                    await recording
                    recording = None
                got = await step(last=True)
                if got[0] == "stop":
                    return str(got[1])
                if got[0] == "wait":
                    if got[1] > HOLD_S:
                        return "held"  # the job is deferred to next_at (app/worker.py); the sweeper is the safety net
                    await asyncio.sleep(max(0.05, got[1]))
                    continue
            rows = got[1]
            ahead = asyncio.create_task(step(last=False))
            results = await send_batch(
                channel, compiled, rows, settings, link=link if channel_name == "email" else None
            )
            if recording is not None:
                await recording
            recording = asyncio.create_task(record(results))
    finally:
        if recording is not None:
            await recording  # what was sent is recorded, whatever stopped the run
        if ahead is not None:
            with contextlib.suppress(Exception):
                got = await ahead
                if got[0] == "rows":
                    await _give_back(maker, organization_id, got[1], None)
        await channel.aclose()


async def _status(
    maker: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, campaign_id: uuid.UUID
) -> str | None:
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        status: str | None = await session.scalar(
            select(Campaign.status).where(Campaign.organization_id == organization_id, Campaign.id == campaign_id)
        )
    return status


async def _give_back(
    maker: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, rows: list[Any], status: str | None
) -> None:
    """A batch claimed ahead but not sent: queued again (cancelled with its campaign), its attempt not counted."""
    ids = [r.id for r in rows if r.status == "sending"]
    if not ids:
        return
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        await session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.organization_id == organization_id,
                CampaignMessage.id.in_(ids),
                CampaignMessage.status == "sending",
            )
            .values(
                status="cancelled" if status == "cancelled" else "queued",
                attempts=CampaignMessage.attempts - 1,
            )
        )
