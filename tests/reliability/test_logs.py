"""Issue 8 §5: personal data never reaches the logs. A realistic sequence (contacts with phones and emails, a call
started (the phone reveal) and reported with contact updates, searches by email, GDPR and segment exports and
their downloads, an import, a failed login, an invitation, a request the database cannot store) runs while every
log record is captured through the app's JSON formatter; no line may hold any of the data's numbers or emails.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.logging import JsonFormatter
from tests.reliability._world import EMAIL_RE, PHONE_RE, build_org_data
from tests.reliability.conftest import quick_org


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.raw.append(record.getMessage())


async def test_no_phone_or_email_in_any_log_line(app: Any, db: AsyncSession, client: AsyncClient) -> None:
    cap = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(cap)
    root.setLevel(min(old_level or logging.INFO, logging.INFO))
    try:
        people = await quick_org(db, "Log")
        d = await build_org_data(client, people, "Log")
        mgr, admin = people["manager"].headers, people["admin"].headers
        cid = d.params["contact_id"]
        extra_phone, extra_email = "+40 745 123 987", f"late.{uuid.uuid4().hex[:6]}@example.net"
        d.phones |= {"+40745123987", "0745123987", extra_phone}
        d.emails.add(extra_email)
        steps: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
            ("PATCH", f"/api/v1/contacts/{cid}", mgr, {"json": {"mobile": extra_phone, "email": extra_email}}),
            ("GET", f"/api/v1/contacts?q={extra_email}", mgr, {}),
            ("POST", "/api/v1/contacts/search", mgr, {"json": {"filter": {"q": extra_phone}}}),
            ("GET", f"/api/v1/contacts/{cid}/timeline", mgr, {}),
            ("GET", f"/api/v1/contacts/{cid}/export", admin, {}),
            ("GET", f"/api/v1/exports/{d.params['export_id']}", mgr, {}),
            ("GET", f"/api/v1/exports/{d.params['export_id']}/download", mgr, {}),
            ("POST", "/api/v1/contacts", mgr, {"json": {"mobile": "12", "email": extra_email}}),  # 422
            ("POST", "/api/v1/auth/login", {}, {"json": {"email": extra_email, "password": "wrong-password"}}),
            ("POST", "/api/v1/auth/login", {}, {"json": {"email": people["volunteer"].email, "password": "nope"}}),
        ]
        for method, url, headers, kw in steps:
            r = await client.request(method, url, headers=headers, **kw)
            assert r.status_code < 500, (method, url, r.text)
        # input the database cannot store (a NUL character) next to the person's data: a 422 whose logs stay clean
        async with AsyncClient(transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as c:
            await c.post(
                "/api/v1/contacts",
                headers=mgr,
                json={"first_name": "x\x00", "mobile": extra_phone, "email": extra_email},
            )
        # the call flow once more, with a contact update carrying a phone and an email
        nxt = await client.post(
            f"/api/v1/actions/{d.params['action_id']}/calls/next", headers=people["volunteer"].headers
        )
        if nxt.status_code == 200:
            tid = nxt.json()["id"]
            await client.post(f"/api/v1/calls/{tid}/start", headers=people["volunteer"].headers)
            r = await client.post(
                f"/api/v1/calls/{tid}/report",
                headers=people["volunteer"].headers,
                json={
                    "id": str(uuid.uuid4()),
                    "outcome": "answered",
                    "contact_updates": {"email": extra_email},
                    "comment": f"call me on {extra_phone} or {extra_email}",
                },
            )
            assert r.status_code < 500, r.text
    finally:
        root.removeHandler(cap)
        root.setLevel(old_level)

    assert len(cap.lines) > 20, "the capture saw too little to mean anything"
    needles = {p for p in d.phones if len(re.sub(r"\D", "", p)) >= 9} | d.emails
    leaks = [(n, line) for line in cap.lines for n in needles if n in line]
    leaks += [(m, line) for line in cap.lines for m in PHONE_RE.findall(line)]
    leaks += [(m, line) for line in cap.lines for m in EMAIL_RE.findall(line) if m in d.emails]
    assert not leaks, "personal data in the logs:\n" + "\n".join(f"{n}: {line[:300]}" for n, line in leaks[:20])
    # the messages themselves (before the scrubber) carry ids only
    raw = [(n, m) for m in cap.raw for n in needles if n in m]
    assert not raw, "log messages built with personal data (masked only by the scrubber):\n" + "\n".join(
        f"{n}: {m[:300]}" for n, m in raw[:20]
    )
