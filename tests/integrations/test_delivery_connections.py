"""The worker keeps one HTTP client per endpoint: deliveries to an endpoint reuse its kept-alive connection
instead of a new TCP (and TLS) handshake each time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.fixtures.factories import Actor, make_actor, make_org

API = "/api/v1"


class KeepAliveReceiver:
    """HTTP/1.1 with keep-alive: counts the connections opened and the webhook ids received."""

    def __init__(self) -> None:
        self.connections = 0
        self.ids: list[str] = []
        self.server: asyncio.Server | None = None
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.ids.append(headers.get("webhook-id", ""))
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"


@pytest.fixture
async def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KeepAliveReceiver]:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    r = KeepAliveReceiver()
    await r.start()
    yield r
    assert r.server is not None
    r.server.close()


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def test_deliveries_to_one_endpoint_reuse_one_connection(
    live_client: AsyncClient, admin: Actor, receiver: KeepAliveReceiver, arq_worker: object
) -> None:
    hook = {"url": receiver.url, "events": ["contact.created"]}
    assert (await live_client.post(f"{API}/webhooks", json=hook, headers=admin.headers)).status_code == 201
    for i in range(5):
        res = await live_client.post(f"{API}/contacts", json={"first_name": f"Kept{i}"}, headers=admin.headers)
        assert res.status_code == 201
        for _ in range(300):  # each delivered before the next is created
            if len(receiver.ids) > i:
                break
            await asyncio.sleep(0.05)
    assert len(receiver.ids) == 5 and len(set(receiver.ids)) == 5
    assert receiver.connections == 1
