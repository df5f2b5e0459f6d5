"""Sending: the campaign job (batches; a status per message; temporary failures retried with backoff) and the
test send to oneself. The job takes ids, sets the tenant itself, and is safe to run twice: a message is claimed
(`sending`) and committed before it is handed to the provider, so a second run never sends it again."""

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

from app.audit import service as audit
from app.auth import references
from app.auth.principal import Principal
from app.config import MessagingSettings
from app.contacts.repository import CONTACT
from app.core import paths
from app.core.db import make_sessionmaker, set_tenant
from app.core.errors import AppError, Unprocessable
from app.core.metrics import MESSAGES_SENT
from app.core.phones import InvalidPhone, normalize
from app.messaging import audience, quiet, unsubscribe
from app.messaging.mime import Composer
from app.messaging.render import Compiled, contact_fields
from app.messaging.schemas import TestSend, TestSendRead
from app.messaging.senders import (
    EmailSender,
    Pacer,
    PermanentFailure,
    SmsProvider,
    TemporaryFailure,
    build_email,
    pace_key,
    sms_provider,
)
from app.messaging.service import SAMPLE, check_parts, check_sms_length
from app.models import Campaign, CampaignMessage, Contact, Organization

log = logging.getLogger("groundgame.messaging")
Result = tuple[int, str, str | None, str | None, float | None]
Clock = Callable[[], datetime]
HOLD_S = 30.0  # a run waits in place for a retry due sooner than this; later, it ends and is deferred


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryFailed(AppError):
    status_code = 502
    code = "delivery_failed"
    message = "The message could not be delivered."


def compile_campaign(c: Campaign) -> Compiled:
    return check_parts(c.channel, c.subject, c.body_html, c.body_text)


class Channel:
    """One channel's sender for the length of a job (SMTP connection or HTTP client reused)."""

    def __init__(
        self,
        channel: str,
        settings: MessagingSettings,
        sms: SmsProvider | None = None,
        *,
        status_callback: str | None = None,
        organization_id: uuid.UUID | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.organization_id = organization_id
        self.channel = channel
        self.settings = settings
        self.email = EmailSender(settings) if channel == "email" else None
        self.composer = Composer(settings, organization_id) if channel == "email" else None
        self.sms = (sms or sms_provider(settings)) if channel == "sms" else None
        self.status_callback = status_callback
        rate = settings.email_per_second if channel == "email" else settings.sms_per_second
        self.pacer = Pacer(rate, redis=redis, key=pace_key(channel, settings))

    async def send(self, to: str, rendered: dict[str, str], *, unsubscribe_url: str | None = None) -> str:
        await self.pacer.wait()
        if self.email is not None and not to.isascii():  # an internationalized address: the email package
            msg = build_email(
                self.settings,
                to=to,
                subject=rendered["subject"],
                html=rendered["body_html"],
                text=rendered["body_text"],
                unsubscribe_url=unsubscribe_url,
                organization_id=self.organization_id,
            )
            return await self.email.send(msg)
        if self.email is not None:
            assert self.composer is not None
            mid = self.composer.message_id()
            data = self.composer.compose(
                to=to,
                subject=rendered["subject"],
                html=rendered["body_html"],
                text=rendered["body_text"],
                unsubscribe_url=unsubscribe_url,
                message_id=mid,
            )
            await self.email.send_raw(self.composer.sender, to, data)
            return mid
        assert self.sms is not None
        return await self.sms.send(to, rendered["body_text"], status_callback=self.status_callback)

    async def aclose(self) -> None:
        if self.email is not None:
            await self.email.aclose()
        if self.sms is not None:
            await self.sms.aclose()


async def send_batch(
    channel: Channel,
    compiled: Compiled,
    rows: list[Any],
    settings: MessagingSettings,
    *,
    link: Callable[[uuid.UUID], str] | None = None,
) -> list[Result]:
    """`link(contact_id)`: the recipient's unsubscribe link (email campaigns)."""
    results: list[Result] = []
    for r in rows:
        if r.status != "sending":
            continue  # skipped at claim: consent withdrawn since the recipients were chosen
        try:
            rendered = compiled.render(contact_fields(r))
            if channel.channel == "sms":
                check_sms_length(rendered["body_text"])
            url = link(r.contact_id) if link is not None else None
            pid = await channel.send(r.address, rendered, unsubscribe_url=url)
            results.append((r.id, "sent", pid, None, None))
            MESSAGES_SENT.labels(channel.channel).inc()
        except TemporaryFailure as e:
            if r.attempts >= settings.max_attempts:
                results.append((r.id, "failed", None, f"gave up after {r.attempts} attempts: {e}"[:1000], None))
            else:
                delay = settings.retry_backoff_s * 2 ** (r.attempts - 1)
                results.append((r.id, "queued", None, str(e)[:1000], delay))
        except (PermanentFailure, AppError) as e:
            results.append((r.id, "failed", None, str(e)[:1000], None))
    return results


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


async def test_send(
    session: AsyncSession, c: Campaign, body: TestSend, *, actor: Principal, settings: MessagingSettings
) -> TestSendRead:
    """Render the campaign for a contact (or a sample) and send it to the caller now (nobody else)."""
    fields = SAMPLE
    if body.contact_id is not None:
        await references.check(session, actor, body, {"contact_id": CONTACT})
        contact = await session.scalar(
            select(Contact).where(Contact.organization_id == actor.organization_id, Contact.id == body.contact_id)
        )
        fields = contact_fields(contact)
    if c.channel == "email":
        to = actor.email
    else:
        if not body.mobile:
            raise Unprocessable("Your mobile number is needed.", details=[{"field": "mobile", "message": "required"}])
        try:
            to = normalize(body.mobile, "RO").e164
        except InvalidPhone as e:
            raise Unprocessable("Invalid number.", details=[{"field": "mobile", "message": str(e)}]) from e
    rendered = compile_campaign(c).render(fields)
    rendered["subject"] = f"[Test] {rendered.get('subject', '')}"
    channel = Channel(c.channel, settings)
    try:
        pid = await channel.send(to, rendered)
    except (TemporaryFailure, PermanentFailure) as e:
        raise DeliveryFailed(f"The test message was not delivered: {e}") from e
    finally:
        await channel.aclose()
    await audit.record(
        session,
        actor=actor,
        action="campaign.test_send",
        object_type="campaign",
        object_id=c.id,
        details={"channel": c.channel},
    )
    return TestSendRead(to=to, provider_id=pid)
