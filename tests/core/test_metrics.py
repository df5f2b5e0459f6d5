"""GET /metrics: Prometheus counters by route template, never by raw path."""

from __future__ import annotations

import re
import uuid

from httpx import AsyncClient

from tests.fixtures.factories import World


def _count(text: str, route: str, status: str) -> float:
    m = re.search(
        rf'^groundgame_http_requests_total\{{method="GET",route="{re.escape(route)}",status="{status}"\}} (\S+)$',
        text,
        re.M,
    )
    return float(m.group(1)) if m else 0.0


async def test_the_request_counter_increases_by_route_template(client: AsyncClient, world: World) -> None:
    route = "/api/v1/contacts/{contact_id}"
    before = _count((await client.get("/metrics")).text, route, "404")
    missing = uuid.uuid4()
    res = await client.get(f"/api/v1/contacts/{missing}", headers=world.a["admin"].headers)
    assert res.status_code == 404
    res = await client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    assert _count(res.text, route, "404") == before + 1
    assert str(missing) not in res.text and world.a["admin"].email not in res.text
    assert "groundgame_http_request_duration_seconds_bucket" in res.text
    await client.get("/api/v1/actions", headers=world.a["admin"].headers)
    assert _count((await client.get("/metrics")).text, "/api/v1/actions", "200") >= 1
