"""Webhooks: committed events reach a real HTTP server, signed per Standard Webhooks; failures are retried,
then the endpoint is disabled; replay; targets inside the network are refused unless allowed."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.core.db import set_tenant
from app.models import WebhookDelivery, WebhookEndpoint
from tests.fixtures.factories import Actor, make_actor, make_org

API = "/api/v1"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                if receiver.status in (301, 302):
                    self.send_header("location", "http://127.0.0.1:9/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    monkeypatch.setattr(settings.webhooks, "backoff_base_s", 0.05)
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def _until(cond: Any, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def _endpoint(client: AsyncClient, admin: Actor, url: str, events: list[str]) -> dict[str, Any]:
    res = await client.post(f"{API}/webhooks", json={"url": url, "events": events}, headers=admin.headers)
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()
    return data


async def test_a_created_contact_is_delivered_signed_to_the_endpoint(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor, receiver: Receiver, arq_worker: object
) -> None:
    ep = await _endpoint(live_client, admin, receiver.url, ["contact.created"])
    assert ep["secret"].startswith("whsec_")
    res = await live_client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=admin.headers)
    assert res.status_code == 201
    contact_id = res.json()["id"]

    async def received() -> bool:
        return bool(receiver.requests)

    await _until(received)
    headers, body = receiver.requests[0]
    payload = Webhook(ep["secret"]).verify(body, headers)  # raises if the signature does not match
    assert payload["type"] == "contact.created" and payload["data"]["contact_id"] == contact_id
    assert "Ana" not in body.decode()  # ids, not personal data
    with pytest.raises(Exception):  # noqa: B017  (any verification error)
        Webhook("whsec_" + "A" * 44).verify(body, headers)

    async def logged() -> bool:
        rows = (await live_client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=admin.headers)).json()["items"]
        return bool(rows) and rows[0]["status"] == "delivered"

    await _until(logged)
    rows = (await live_client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=admin.headers)).json()["items"]
    assert (
        rows[0]["last_status_code"] == 200 and rows[0]["attempts"] == 1 and rows[0]["event_type"] == "contact.created"
    )
    assert headers["webhook-id"] == rows[0]["id"]


async def test_a_failing_endpoint_is_retried_then_disabled_and_a_delivery_can_be_replayed(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    receiver: Receiver,
    arq_worker: object,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings.webhooks, "max_attempts", 5)
    monkeypatch.setattr(settings.webhooks, "disable_after_failures", 3)
    org_id = admin.org.id
    receiver.status = 302  # a redirect is not followed: it counts as a failure
    ep = await _endpoint(live_client, admin, receiver.url, ["contact.created"])
    assert (
        await live_client.post(f"{API}/contacts", json={"first_name": "Bo"}, headers=admin.headers)
    ).status_code == 201

    async def disabled() -> bool:
        await set_tenant(live_db, org_id)
        enabled = await live_db.scalar(select(WebhookEndpoint.enabled).where(WebhookEndpoint.id == uuid.UUID(ep["id"])))
        await live_db.rollback()
        return enabled is False

    await _until(disabled)
    assert len(receiver.requests) == 3  # three attempts, none to the redirect target
    rows = (await live_client.get(f"{API}/webhooks/{ep['id']}/deliveries", headers=admin.headers)).json()["items"]
    assert rows[0]["status"] == "failed" and rows[0]["attempts"] == 3 and rows[0]["last_status_code"] == 302
    read = (await live_client.get(f"{API}/webhooks/{ep['id']}", headers=admin.headers)).json()
    assert read["enabled"] is False and "3 failed attempts" in read["disabled_reason"]

    # Fixed on their side: re-enable, replay, delivered.
    receiver.status = 204
    res = await live_client.patch(f"{API}/webhooks/{ep['id']}", json={"enabled": True}, headers=admin.headers)
    assert res.status_code == 200 and res.json()["consecutive_failures"] == 0
    res = await live_client.post(f"{API}/webhooks/deliveries/{rows[0]['id']}/replay", headers=admin.headers)
    assert res.status_code == 202

    async def delivered() -> bool:
        await set_tenant(live_db, org_id)
        status = await live_db.scalar(
            select(WebhookDelivery.status).where(WebhookDelivery.id == uuid.UUID(rows[0]["id"]))
        )
        await live_db.rollback()
        return status == "delivered"

    await _until(delivered)
    assert len(receiver.requests) == 4
    assert json.loads(receiver.requests[-1][1])["type"] == "contact.created"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "http://localhost/x", "http://169.254.169.254/latest", "http://10.1.2.3/"]
)
async def test_a_target_inside_the_network_is_refused(client: AsyncClient, world: Any, url: str) -> None:
    res = await client.post(
        f"{API}/webhooks", json={"url": url, "events": ["contact.created"]}, headers=world.a["admin"].headers
    )
    assert res.status_code == 422, res.text
    assert res.json()["error"]["details"][0]["field"] == "url"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "http://\u00e9\u00e9..x/", "http://user:pw@example.org/", "http://h:99999/"]
)
async def test_a_target_that_is_not_a_plain_http_url_is_refused(client: AsyncClient, world: Any, url: str) -> None:
    res = await client.post(
        f"{API}/webhooks", json={"url": url, "events": ["contact.created"]}, headers=world.a["admin"].headers
    )
    assert res.status_code == 422, res.text
    assert res.json()["error"]["details"][0]["field"] == "url"


async def test_an_edit_and_a_consent_change_are_sent_to_the_endpoints_that_asked(
    live_client: AsyncClient, admin: Actor, receiver: Receiver, arq_worker: object
) -> None:
    ep = await _endpoint(live_client, admin, receiver.url, ["contact.updated", "consent.changed"])
    res = await live_client.post(f"{API}/contacts", json={"first_name": "Ema"}, headers=admin.headers)
    cid = res.json()["id"]
    res = await live_client.patch(f"{API}/contacts/{cid}", json={"first_name": "Emma"}, headers=admin.headers)
    assert res.status_code == 200, res.text
    res = await live_client.post(
        f"{API}/contacts/{cid}/consents", json={"channel": "email", "status": "granted"}, headers=admin.headers
    )
    assert res.status_code == 201, res.text

    async def both() -> bool:
        return len(receiver.requests) >= 2

    await _until(both)
    await asyncio.sleep(0.3)  # nothing else (the creation was not subscribed to)
    got = sorted(Webhook(ep["secret"]).verify(b, h)["type"] for h, b in receiver.requests)
    assert got == ["consent.changed", "contact.updated"]
    assert all(json.loads(b)["data"]["contact_id"] == cid for _, b in receiver.requests)


async def test_an_organization_without_endpoints_costs_no_job(
    client: AsyncClient, world: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.metrics import JOBS_ENQUEUED

    def fanouts() -> float:
        return float(JOBS_ENQUEUED.labels("webhook_dispatch")._value.get())

    headers = world.a["admin"].headers
    before = fanouts()
    assert (await client.post(f"{API}/contacts", json={"first_name": "Ion"}, headers=headers)).status_code == 201
    assert fanouts() == before
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    await _endpoint(client, world.a["admin"], "http://127.0.0.1:9/hook", ["contact.created"])
    assert (await client.post(f"{API}/contacts", json={"first_name": "Dan"}, headers=headers)).status_code == 201
    assert fanouts() == before + 1
