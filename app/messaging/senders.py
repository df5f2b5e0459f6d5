"""Delivery: email over SMTP (one connection reused for a batch) and SMS through a provider adapter.

Each send returns the provider's id for the message, or raises `TemporaryFailure` (retried later: a 4xx SMTP
reply, a 5xx or 429 from the SMS provider, a lost connection) or `PermanentFailure` (the message is failed with
the reason the server gave)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from html import escape
from types import TracebackType
from typing import Protocol, cast

import aiosmtplib
import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.config import MessagingSettings

log = logging.getLogger("groundgame.messaging")


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def message_id(domain: str, organization_id: uuid.UUID | None) -> str:
    """`<random.org@domain>`: a bounce or open report that quotes it names its organization (app/messaging/
    inbound.py), with no lookup across tenants."""
    org = organization_id.hex if organization_id else "0"
    return f"<{secrets.token_hex(12)}.{org}@{domain}>"


def org_of_message_id(mid: str) -> uuid.UUID | None:
    local = mid.strip().strip("<>").split("@", 1)[0]
    try:
        return uuid.UUID(hex=local.rsplit(".", 1)[-1])
    except ValueError:
        return None


def with_footer(text: str, html: str, unsubscribe_url: str | None) -> tuple[str, str]:
    """A campaign's footer link (with `unsubscribe_url`) in both parts."""
    if not unsubscribe_url:
        return text, html
    text = f"{text}\n\n--\nUnsubscribe: {unsubscribe_url}\n"
    if html:
        html = f'{html}\n<p style="font-size:small"><a href="{escape(unsubscribe_url)}">Unsubscribe</a></p>'
    return text, html


def build_email(
    settings: MessagingSettings,
    *,
    to: str,
    subject: str,
    html: str,
    text: str,
    unsubscribe_url: str | None = None,
    organization_id: uuid.UUID | None = None,
) -> EmailMessage:
    """With `unsubscribe_url` (campaigns): RFC 8058 one-click headers and a footer link in both parts."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    domain = settings.mail_from.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = message_id(domain, organization_id)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text, html = with_footer(text, html, unsubscribe_url)
    msg.set_content(text or " ")
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


class EmailSender:
    """`async with EmailSender(settings) as s: await s.send(msg)`: one SMTP connection for many messages."""

    def __init__(self, settings: MessagingSettings) -> None:
        self.settings = settings
        self.smtp: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password.get_secret_value() or None,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_s,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as e:
            raise TemporaryFailure(f"SMTP connection failed: {e}") from e
        return smtp

    async def __aenter__(self) -> EmailSender:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.smtp.close()
        self.smtp = None

    async def send(self, msg: EmailMessage) -> str:
        await self._send(lambda smtp: smtp.send_message(msg))
        return str(msg["Message-ID"])

    async def send_raw(self, sender: str, to: str, data: bytes) -> None:
        """A message already composed (app/messaging/mime.py), as it goes on the wire."""
        await self._send(lambda smtp: smtp.sendmail(sender, [to], data))

    async def _send(self, go: Callable[[aiosmtplib.SMTP], Awaitable[object]]) -> None:
        if self.smtp is None or not self.smtp.is_connected:
            self.smtp = await self._connect()
        try:
            await go(self.smtp)
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
            if all(400 <= c < 500 for c in codes):
                raise TemporaryFailure(reason) from e
            raise PermanentFailure(reason) from e
        except aiosmtplib.SMTPResponseException as e:
            if 400 <= e.code < 500:
                raise TemporaryFailure(f"{e.code} {e.message}") from e
            raise PermanentFailure(f"{e.code} {e.message}") from e
        except (aiosmtplib.SMTPException, OSError) as e:
            await self.aclose()
            raise TemporaryFailure(f"SMTP error: {e}") from e


# One reservation in Redis, atomically: the provider's next free send time (µs, on Redis's clock, which every
# worker shares) moves one interval on; the caller sleeps until the slot it got. Sends of every worker and job
# then keep `per_second` together: a fixed pace (GCRA without burst), the slots handed out in arrival order.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return slot - now
"""


def pace_key(channel: str, settings: MessagingSettings) -> str:
    """Throttling is per provider (its limit is on our account, whoever sends): the SMTP server, or the SMS API
    and account."""
    if channel == "email":
        return f"pace:email:{settings.smtp_host}:{settings.smtp_port}"
    return f"pace:sms:{settings.sms_provider}:{settings.sms_api_url}:{settings.sms_account_sid}"


class Pacer:
    """Throttling per provider: at most `per_second` sends a second (0: no limit), shared by every worker
    through Redis when it is given (one Lua reservation per send); without Redis, or while it is unreachable,
    within this process only."""

    def __init__(self, per_second: float, *, redis: Redis | None = None, key: str = "pace") -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0
        self.redis = redis
        self.key = key

    async def _shared(self) -> float | None:
        """Seconds to wait for the slot reserved in Redis; None when Redis cannot be reached."""
        if self.redis is None:
            return None
        try:
            interval_us = str(max(1, round(self.interval * 1_000_000)))
            us = await cast(Awaitable[int], self.redis.eval(_RESERVE, 1, self.key, interval_us))
        except (RedisError, OSError) as e:
            log.warning("redis unavailable for pacing (%s); pacing this process only", type(e).__name__)
            return None
        return max(0.0, float(us) / 1_000_000)

    async def wait(self) -> None:
        if not self.interval:
            return
        shared = await self._shared()
        if shared is not None:
            if shared:
                await asyncio.sleep(shared)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class SmsProvider(Protocol):
    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> str: ...
    async def aclose(self) -> None: ...


class LogSmsProvider:
    """Development: nothing leaves the machine (and the log never holds the number or the text)."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        self.count += 1
        log.info("sms (log provider): %d characters", len(body))
        return f"log-{self.count}"

    async def aclose(self) -> None:
        return None


class TwilioSmsProvider:
    """A Twilio-compatible API: POST {api}/2010-04-01/Accounts/{sid}/Messages.json (form: To, From, Body and
    StatusCallback, where the provider posts the message's later statuses) with basic auth (sid, token); the
    answer's `sid` is the message's id, its `message` the reason of a refusal."""

    def __init__(self, settings: MessagingSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=settings.sms_timeout_s)
        self.url = f"{settings.sms_api_url.rstrip('/')}/2010-04-01/Accounts/{settings.sms_account_sid}/Messages.json"

    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        s = self.settings
        form = {"To": to, "From": s.sms_from, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        try:
            r = await self.client.post(
                self.url,
                data=form,
                auth=(s.sms_account_sid, s.sms_auth_token.get_secret_value()),
            )
        except httpx.HTTPError as e:
            raise TemporaryFailure(f"SMS provider unreachable: {type(e).__name__}") from e
        if r.status_code >= 500 or r.status_code == 429:
            raise TemporaryFailure(f"SMS provider answered {r.status_code}")
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 400:
            reason = data.get("message") if isinstance(data, dict) else None
            raise PermanentFailure(f"{r.status_code} {reason or r.reason_phrase}")
        return str(data.get("sid", "")) if isinstance(data, dict) else ""

    async def aclose(self) -> None:
        await self.client.aclose()


def sms_provider(settings: MessagingSettings) -> SmsProvider:
    if settings.sms_provider == "twilio":
        return TwilioSmsProvider(settings)
    return LogSmsProvider()
