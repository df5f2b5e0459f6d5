"""Web Push end to end: a local push service (an HTTP server in the test) that decrypts each payload with
http_ece and the subscription's own private key, the real API and the real arq worker."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.core.embedded import free_port
from app.models import Action, ActionVolunteer, OpportunityType, PushSubscription, VapidKey
from app.push.reminders import remind
from tests.fixtures.factories import Actor, make_actor, make_org, make_team

pytestmark = pytest.mark.usefixtures("arq_worker")
API = "/api/v1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Browser:
    """A subscription's keys, as a browser holds them."""

    path: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, base: str) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": base + self.path, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


@dataclass
class PushService:
    base: str
    browsers: dict[str, Browser] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    received: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def payloads(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for at, p, _ in self.received if at == path]


@pytest.fixture
def push_service() -> Iterator[PushService]:
    state = PushService(base=f"http://127.0.0.1:{free_port()}")
    port = int(state.base.rsplit(":", 1)[1])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path in state.gone:
                self.send_response(410)
            else:
                b = state.browsers[self.path]
                assert self.headers["Content-Encoding"] == "aes128gcm"
                plain = http_ece.decrypt(body, private_key=b.key, auth_secret=b.auth, version="aes128gcm")
                with state.lock:
                    state.received.append((self.path, json.loads(plain), dict(self.headers)))
                self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def _until(check: Any, wait_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _subscribe(client: AsyncClient, ps: PushService, who: Actor, path: str) -> Browser:
    b = Browser(path)
    ps.browsers[path] = b
    r = await client.post(f"{API}/me/push-subscriptions", json=b.subscription(ps.base), headers=who.headers)
    assert r.status_code == 201, r.text
    return b


async def test_the_vapid_key_is_generated_once_and_kept(live_client: AsyncClient, live_db: AsyncSession) -> None:
    org = await make_org(live_db)
    v = await make_actor(live_db, org, "volunteer")
    await live_db.commit()
    first = (await live_client.get(f"{API}/me/push-subscriptions/public-key", headers=v.headers)).json()
    again = (await live_client.get(f"{API}/me/push-subscriptions/public-key", headers=v.headers)).json()
    assert first == again and len(base64.urlsafe_b64decode(first["public_key"] + "==")) == 65
    assert await live_db.scalar(select(func.count()).select_from(VapidKey)) == 1
    assert await live_db.scalar(select(VapidKey.public_key)) == first["public_key"]


async def test_hq_message_to_a_team_is_decrypted_by_the_push_service_and_gone_subscriptions_are_removed(
    live_client: AsyncClient, live_db: AsyncSession, push_service: PushService
) -> None:
    org = await make_org(live_db)
    hq = await make_actor(live_db, org, "manager")
    ana = await make_actor(live_db, org, "volunteer")
    ion = await make_actor(live_db, org, "volunteer")
    team = await make_team(live_db, org, [ana, ion])
    await live_db.commit()
    org_id, team_id = org.id, team.id
    await _subscribe(live_client, push_service, ana, "/push/ana")
    await _subscribe(live_client, push_service, ion, "/push/ion-old")
    push_service.gone.add("/push/ion-old")
    await _subscribe(live_client, push_service, ion, "/push/ion")

    r = await live_client.post(
        f"{API}/teams/{team_id}/notify", json={"title": "Sâmbătă", "body": "Ne vedem la 10!"}, headers=ana.headers
    )
    assert r.status_code == 403  # a volunteer is not HQ
    r = await live_client.post(
        f"{API}/teams/{team_id}/notify",
        json={"title": "Sâmbătă", "body": "Ne vedem la 10!", "url": "/actions"},
        headers=hq.headers,
    )
    assert r.status_code == 200 and r.json() == {"recipients": 2}
    await _until(lambda: push_service.payloads("/push/ana") and push_service.payloads("/push/ion"))
    for path in ("/push/ana", "/push/ion"):
        (p,) = push_service.payloads(path)
        assert p == {
            "kind": "team_message",
            "title": "Sâmbătă",
            "body": "Ne vedem la 10!",
            "url": "/actions",
            "tag": None,
        }
    headers = next(h for at, _, h in push_service.received if at == "/push/ana")
    key = (await live_client.get(f"{API}/me/push-subscriptions/public-key", headers=ana.headers)).json()["public_key"]
    assert headers["Authorization"].startswith("vapid t=") and headers["Authorization"].endswith(f",k={key}")
    jwt_claims = json.loads(base64.urlsafe_b64decode(headers["Authorization"][8:].split(".")[1] + "=="))
    assert jwt_claims["aud"] == push_service.base

    async def endpoints() -> set[str]:
        await live_db.rollback()
        await set_tenant(live_db, org_id)
        return set((await live_db.scalars(select(PushSubscription.endpoint))).all())

    for _ in range(50):
        if push_service.base + "/push/ion-old" not in await endpoints():
            break
        await asyncio.sleep(0.1)
    assert await endpoints() == {push_service.base + "/push/ana", push_service.base + "/push/ion"}

    r = await live_client.request(
        "DELETE",
        f"{API}/me/push-subscriptions",
        json={"endpoint": push_service.base + "/push/ion"},
        headers=ion.headers,
    )
    assert r.status_code == 204
    assert await endpoints() == {push_service.base + "/push/ana"}


async def test_an_assigned_action_a_task_and_a_reminder_notify_the_volunteer(
    live_client: AsyncClient, live_db: AsyncSession, push_service: PushService, engine: AsyncEngine
) -> None:
    org = await make_org(live_db)
    hq = await make_actor(live_db, org, "manager")
    ana = await make_actor(live_db, org, "volunteer")
    kind = OpportunityType(organization_id=org.id, name="Wants a lawn sign")
    live_db.add(kind)
    await live_db.commit()
    org_id, kind_id = org.id, kind.id
    await _subscribe(live_client, push_service, ana, "/push/ana")

    starts = datetime.now(UTC) + timedelta(minutes=30)
    r = await live_client.post(
        f"{API}/actions",
        json={
            "type": "call",
            "title": "Phone bank",
            "starts_at": starts.isoformat(),
            "volunteer_ids": [str(ana.user_id)],
        },
        headers=hq.headers,
    )
    assert r.status_code == 201, r.text
    action_id = r.json()["id"]
    await _until(lambda: push_service.payloads("/push/ana"))
    assert push_service.payloads("/push/ana")[0] | {"tag": None} == {
        "kind": "action_assigned",
        "title": "New action for you",
        "body": "Phone bank",
        "url": f"/actions/{action_id}",
        "tag": None,
    }

    r = await live_client.post(
        f"{API}/opportunities", json={"type_id": str(kind_id), "assignee_user_id": str(ana.user_id)}, headers=hq.headers
    )
    assert r.status_code == 201, r.text
    await _until(lambda: len(push_service.payloads("/push/ana")) == 2)
    assert push_service.payloads("/push/ana")[1]["kind"] == "task_assigned"

    assert await remind(engine, 60) >= 1
    assert await remind(engine, 60) == 0  # once per action
    await _until(lambda: len(push_service.payloads("/push/ana")) == 3)
    assert push_service.payloads("/push/ana")[2] | {"tag": None} == {
        "kind": "action_reminder",
        "title": "Starting soon",
        "body": "Phone bank",
        "url": f"/actions/{action_id}",
        "tag": None,
    }
    await set_tenant(live_db, org_id)
    assert await live_db.scalar(select(Action.reminder_sent_at).where(Action.title == "Phone bank")) is not None
    assert await live_db.scalar(select(func.count()).select_from(ActionVolunteer)) == 1
