"""The map style URL is an organization setting: an admin sets it, every member's console reads it, and the
Content-Security-Policy opens to its origin only while one is set."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Organization
from tests.fixtures.factories import World

STYLE = "https://tiles.example.org/styles/basic/style.json"


def _connect_src(csp: str) -> list[str]:
    part = next(p.strip() for p in csp.split(";") if p.strip().startswith("connect-src"))
    return part.split()[1:]


async def test_map_style_url_is_set_by_an_admin_and_read_by_every_member(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    r = await client.patch("/api/v1/organization", headers=world.a["admin"].headers, json={"map_style_url": STYLE})
    assert r.status_code == 200, r.text
    assert r.json()["map_style_url"] == STYLE
    assert await db.scalar(select(Organization.map_style_url).where(Organization.id == world.org_a.id)) == STYLE
    me = await client.get("/api/v1/me", headers=world.a["volunteer"].headers)
    assert me.json()["organization"]["map_style_url"] == STYLE
    other = await client.get("/api/v1/me", headers=world.b["admin"].headers)
    assert other.json()["organization"]["map_style_url"] is None

    refused = await client.patch(
        "/api/v1/organization", headers=world.a["manager"].headers, json={"map_style_url": "https://x.example.org/s"}
    )
    assert refused.status_code == 403
    for bad in (
        "http://tiles.example.org/style.json",
        "javascript:alert(1)",
        "https://",
        "https://a b.org/s",
        "https://u:p@tiles.example.org/s",
        "https://x.org/s; script-src *",
    ):
        r = await client.patch("/api/v1/organization", headers=world.a["admin"].headers, json={"map_style_url": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["details"][0]["field"] == "map_style_url", r.text
    long = "https://tiles.example.org/" + "s" * 480
    r = await client.patch("/api/v1/organization", headers=world.a["admin"].headers, json={"map_style_url": long})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "map_style_url"
    await set_tenant(db, world.org_a.id)  # the last request scoped the test's transaction to its organization
    assert await db.scalar(select(Organization.map_style_url).where(Organization.id == world.org_a.id)) == STYLE

    cleared = await client.patch("/api/v1/organization", headers=world.a["admin"].headers, json={"map_style_url": ""})
    assert cleared.status_code == 200
    await set_tenant(db, world.org_a.id)
    assert await db.scalar(select(Organization.map_style_url).where(Organization.id == world.org_a.id)) is None


async def test_content_security_policy_allows_the_map_style_origin_only_when_set(
    client: AsyncClient, world: World
) -> None:
    admin = world.a["admin"].headers
    # The policy is the server's (sent before sign-in): the union of every organization's style origin. Other
    # suites' committed organizations may have one; this test adds and removes its own.
    before = _connect_src((await client.get("/hq/")).headers["content-security-policy"])
    assert before[0] == "'self'" and "https://tiles.example.org" not in before
    assert (await client.patch("/api/v1/organization", headers=admin, json={"map_style_url": STYLE})).status_code == 200
    for path in ("/hq/", "/hq/map", "/"):
        csp = (await client.get(path)).headers["content-security-policy"]
        assert sorted(_connect_src(csp)) == sorted([*before, "https://tiles.example.org"]), path
        assert "script-src 'self';" in csp  # only the map's fetches are opened
    assert (await client.patch("/api/v1/organization", headers=admin, json={"map_style_url": None})).status_code == 200
    assert _connect_src((await client.get("/hq/")).headers["content-security-policy"]) == before
