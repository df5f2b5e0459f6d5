"""A real SMTP server (aiosmtpd) and a local HTTP server speaking a Twilio-compatible SMS API, in the test
process; the app and the worker are pointed at them through the messaging settings."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.core.embedded import free_port
from app.models import Contact
from tests.fixtures.factories import Actor, make_actor, make_org


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: dict[str, int] = {}  # address → SMTP code to answer at RCPT

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        code = self.refuse.get(address)
        if code:
            return f"{code} refused for the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"

    def to(self) -> list[str]:
        return sorted(a for rcpts, _ in self.messages for a in rcpts)

    def for_address(self, address: str) -> EmailMessage:
        return next(m for rcpts, m in self.messages if address in rcpts)


@pytest.fixture
def smtp(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    monkeypatch.setattr(settings.messaging, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(settings.messaging, "smtp_port", port)
    monkeypatch.setattr(settings.messaging, "mail_from", "HQ <hq@groundgame.test>")
    monkeypatch.setattr(settings.messaging, "retry_backoff_s", 0.05)
    try:
        yield inbox
    finally:
        ctl.stop()


@dataclass
class SmsProviderServer:
    port: int
    received: list[dict[str, str]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    # answers to give before succeeding, per destination number: [(status, body)…]
    script: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_s: float = 0.0  # a slow provider (to pause a campaign mid-send)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each request's arrival

    def to(self) -> list[str]:
        return sorted(m["To"] for m in self.received)


@pytest.fixture
def sms_server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsProviderServer]:
    state = SmsProviderServer(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
            state.times.append(time.monotonic())
            time.sleep(state.delay_s)
            with state.lock:
                script = state.script.get(form.get("To", ""), [])
                if not self.path.endswith("/Accounts/ACtest/Messages.json"):
                    status, body = 404, {"message": "no such account"}
                elif script:
                    status, body = script.pop(0)
                else:
                    state.received.append(form)
                    state.auth.append(self.headers.get("Authorization", ""))
                    status, body = 201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    m = settings.messaging
    monkeypatch.setattr(m, "sms_provider", "twilio")
    monkeypatch.setattr(m, "sms_api_url", f"http://127.0.0.1:{state.port}")
    monkeypatch.setattr(m, "sms_account_sid", "ACtest")
    from pydantic import SecretStr

    monkeypatch.setattr(m, "sms_auth_token", SecretStr("tok"))
    monkeypatch.setattr(m, "sms_from", "+40700000000")
    monkeypatch.setattr(m, "retry_backoff_s", 0.05)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def add_contact(session: AsyncSession, org_id: uuid.UUID, **kw: Any) -> Contact:
    await set_tenant(session, org_id)
    c = Contact(
        organization_id=org_id, first_name=kw.pop("first_name", "Ana"), last_name=kw.pop("last_name", "Pop"), **kw
    )
    session.add(c)
    await session.flush()
    return c


async def live_manager(live_db: AsyncSession, role: str = "manager") -> Actor:
    org = await make_org(live_db)
    m = await make_actor(live_db, org, role)
    await live_db.commit()
    return m
