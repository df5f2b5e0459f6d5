"""Petitions in the API: HQ only (the permission table), a public address and an embed snippet, the JSON endpoints
for other sites with CORS for the listed origins only, a volunteer collecting signatures on a petition action,
and the signature.created webhook event."""

from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.models import Action, ActionTeam, Team, WebhookOutbox
from tests.fixtures.factories import World
from tests.petitions.conftest import API, contacts_by_email, count_of, form, open_petition, signatures


async def test_hq_creates_a_petition_with_its_public_address_and_embed_snippet(
    client: AsyncClient, world: World
) -> None:
    p = await open_petition(client, world.a["manager"], embed_origins=["https://allies.example"])
    assert p["public_url"].endswith(f"/p/{p['slug']}") and "<iframe" in p["embed_snippet"]
    assert p["signature_count"] == 0 and p["status"] == "open"
    listed = (await client.get(f"{API}/petitions", headers=world.a["admin"].headers)).json()
    assert [x["id"] for x in listed] == [p["id"]]
    res = await client.patch(
        f"{API}/petitions/{p['id']}", json={"status": "closed", "goal": 10}, headers=world.a["admin"].headers
    )
    assert res.status_code == 200 and res.json()["status"] == "closed" and res.json()["goal"] == 10
    same = await client.post(
        f"{API}/petitions", json={"slug": p["slug"], "title": "Again"}, headers=world.b["admin"].headers
    )
    assert same.status_code == 409 and same.json()["error"]["details"][0]["field"] == "slug"
    other = await client.get(f"{API}/petitions/{p['id']}", headers=world.b["admin"].headers)
    assert other.status_code == 404


async def test_volunteers_and_team_leaders_cannot_manage_petitions(client: AsyncClient, world: World) -> None:
    for role in ("volunteer", "team_leader"):
        res = await client.post(f"{API}/petitions", json={"slug": "x-y", "title": "T"}, headers=world.a[role].headers)
        assert res.status_code == 403, role
        assert (await client.get(f"{API}/petitions", headers=world.a[role].headers)).status_code == 403


async def test_a_translation_in_a_language_the_petition_is_not_in_is_refused_naming_it(
    client: AsyncClient, world: World
) -> None:
    res = await client.post(
        f"{API}/petitions",
        json={"slug": "lang-x", "title": "T", "languages": ["en"], "translations": {"ro": {"title": "R"}}},
        headers=world.a["admin"].headers,
    )
    assert res.status_code == 422 and res.json()["error"]["details"][0]["field"] == "translations"


async def test_the_json_endpoints_answer_cors_only_for_the_listed_origins(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    p = await open_petition(client, world.a["admin"], embed_origins=["https://allies.example"])
    ok = {"origin": "https://allies.example"}
    counter = await client.get(f"/p/{p['slug']}/counter.json", headers=ok)
    assert counter.status_code == 200 and counter.headers["access-control-allow-origin"] == "https://allies.example"
    assert counter.json()["count"] == 0 and counter.json()["goal"] == 100 and counter.json()["form_token"]
    pre = await client.options(f"/p/{p['slug']}/sign.json", headers={**ok, "access-control-request-method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://allies.example"
    res = await client.post(f"/p/{p['slug']}/sign.json", json=form(p), headers=ok)
    assert res.status_code == 202 and res.json()["message"] == "Thank you, share it!"
    assert res.headers["access-control-allow-origin"] == "https://allies.example"
    other = await client.post(
        f"/p/{p['slug']}/sign.json", json=form(p, email="x@example.org"), headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    bad = await client.post(f"/p/{p['slug']}/sign.json", json={**form(p), "email": "nope"}, headers=ok)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "email"
    assert bad.headers["access-control-allow-origin"] == "https://allies.example"  # the site can read why
    [sig, _] = sorted(await signatures(db, world.org_a.id, p["id"]), key=lambda s: s.signer_key)
    assert sig.channel == "embed"
    page = await client.get(f"/p/{p['slug']}?embed=1")
    assert "frame-ancestors https://allies.example" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers


async def test_a_volunteer_collects_a_signature_on_a_petition_action(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    admin, volunteer = world.a["admin"], world.a["volunteer"]
    await set_tenant(db, org)
    action = Action(organization_id=org, id=uuid.uuid4(), type="petition", title="Market day", status="active")
    db.add(action)
    await db.flush()
    team = await db.scalar(select(Team.id).where(Team.organization_id == org, Team.name == "Team 1"))
    p = await open_petition(client, admin, action_id=str(action.id))
    outsider = await client.get(f"{API}/actions/{action.id}/petition", headers=volunteer.headers)
    assert outsider.status_code == 404  # not on the action
    db.add(ActionTeam(organization_id=org, action_id=action.id, team_id=team))
    await db.flush()
    shown = await client.get(f"{API}/actions/{action.id}/petition?lang=fr", headers=volunteer.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["consent_wording"]["email"] == "Informez-moi par e-mail."
    body = {"first_name": "Mihai", "email": "mihai@example.org", "consents": ["email"], "language": "fr"}
    res = await client.post(f"{API}/actions/{action.id}/petition/signatures", json=body, headers=volunteer.headers)
    assert res.status_code == 202, res.text
    [c] = await contacts_by_email(db, org, "mihai@example.org")
    assert c.consent_email == "granted" and c.created_by == volunteer.user_id
    [sig] = await signatures(db, org, p["id"])
    assert sig.channel == "field" and sig.collected_by == volunteer.user_id
    assert await count_of(db, org, p["id"]) == 1


async def test_a_signature_writes_a_signature_created_event_for_a_subscribed_endpoint(
    client: AsyncClient, db: AsyncSession, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    admin = world.a["admin"]
    hook = await client.post(
        f"{API}/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["signature.created"]}, headers=admin.headers
    )
    assert hook.status_code == 201, hook.text
    p = await open_petition(client, admin)
    assert (await client.post(f"/p/{p['slug']}", data=form(p))).status_code == 200
    await set_tenant(db, world.org_a.id)
    rows = (await db.scalars(select(WebhookOutbox).where(WebhookOutbox.organization_id == world.org_a.id))).all()
    assert [r.event_type for r in rows] == ["signature.created"]
    assert rows[0].payload["data"]["petition_id"] == p["id"]
