"""DNS rebinding: the target's name is resolved once per attempt, checked, and the request goes to that very
address (the name in the Host header), so an answer that changes after the check cannot send it inside."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.integrations.ssrf import TargetRefused, check_target
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.integrations.test_webhooks import API, Receiver, _endpoint, _until

NAME = "hooks.rebind.test"


class Rebinder:
    """A resolver that tells the truth for the first `honest` questions, then points the name inside."""

    def __init__(self, honest: int, inside: str = "10.0.0.1") -> None:
        self.honest, self.inside, self.asked = honest, inside, 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return ["127.0.0.1"] if self.asked <= self.honest else [self.inside]


@pytest.fixture
def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", False)
    monkeypatch.setattr(settings.webhooks, "allowed_networks", ["127.0.0.1/32"])  # the receiver, nothing else
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def test_a_delivery_goes_to_the_address_checked_not_to_a_second_answer(
    live_client: AsyncClient,
    app: Any,
    admin: Actor,
    receiver: Receiver,
    arq_worker: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = receiver.server.server_address[1]
    rebinder = Rebinder(honest=2)  # the check at creation, the check before the attempt
    monkeypatch.setattr(app.state, "webhook_resolver", rebinder, raising=False)
    monkeypatch.setitem(arq_worker.ctx, "webhook_resolver", rebinder)
    await _endpoint(live_client, admin, f"http://{NAME}:{port}/hook", ["contact.created"])
    assert (
        await live_client.post(f"{API}/contacts", json={"first_name": "Ana"}, headers=admin.headers)
    ).status_code == 201

    async def received() -> bool:
        return bool(receiver.requests)

    await _until(received)
    headers, _ = receiver.requests[0]
    assert headers["host"] == f"{NAME}:{port}"
    assert rebinder.asked == 2  # no second resolution on the way to the connection


async def test_a_name_that_answers_inside_at_the_check_is_refused() -> None:
    with pytest.raises(TargetRefused):
        await check_target(f"http://{NAME}/x", allow_private=False, resolve=Rebinder(honest=0))
    target = await check_target(
        f"https://{NAME}:8443/x?a=1", allow_private=False, allowed_networks=["127.0.0.1/32"], resolve=Rebinder(1)
    )
    assert target.pinned_url == "https://127.0.0.1:8443/x?a=1" and target.host_header == f"{NAME}:8443"


async def test_a_name_with_one_inside_address_among_others_is_refused_at_creation(
    client: AsyncClient, app: Any, world: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "192.168.1.1"]

    monkeypatch.setattr(app.state, "webhook_resolver", mixed, raising=False)
    res = await client.post(
        f"{API}/webhooks",
        json={"url": f"http://{NAME}/x", "events": ["contact.created"]},
        headers=world.a["admin"].headers,
    )
    assert res.status_code == 422 and res.json()["error"]["details"][0]["field"] == "url"
