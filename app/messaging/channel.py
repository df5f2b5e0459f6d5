"""A channel's sender for the length of a job (one SMTP connection, one HTTP client), a batch sent through it,
and the test send to oneself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.config import MessagingSettings
from app.core.errors import AppError, Unprocessable
from app.core.metrics import MESSAGES_SENT
from app.core.phones import InvalidPhone, normalize
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
from app.messaging.service import check_parts, check_sms_length, merge_fields
from app.models import Campaign

Result = tuple[int, str, str | None, str | None, float | None]


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


async def test_send(
    session: AsyncSession, c: Campaign, body: TestSend, *, actor: Principal, settings: MessagingSettings
) -> TestSendRead:
    """Render the campaign for a contact (or a sample) and send it to the caller now (nobody else)."""
    fields = await merge_fields(session, actor, body)
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
