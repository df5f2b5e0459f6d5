from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm, role_can
from app.models import MessageTemplate
from tests.fixtures.factories import World
from tests.messaging.conftest import add_contact

T = "/api/v1/messaging/templates"
P = "/api/v1/messaging/preview"


def email(**kw: str) -> dict[str, str]:
    return {
        "name": "Thanks",
        "channel": "email",
        "subject": "Thank you {{ contact.first_name }}",
        "body_html": "<p>Hello {{ contact.first_name }} from {{ contact.city }}</p>",
        "body_text": "Hello {{ contact.first_name }}",
    } | kw


async def test_manager_creates_an_email_template(client: AsyncClient, db: AsyncSession, world: World) -> None:
    r = await client.post(T, json=email(), headers=world.a["manager"].headers)
    assert r.status_code == 201, r.text
    saved = await db.scalar(select(MessageTemplate).where(MessageTemplate.id == r.json()["id"]))
    assert saved is not None and saved.organization_id == world.org_a.id and saved.subject.startswith("Thank you")
    listed = await client.get(T, headers=world.a["manager"].headers)
    assert [t["id"] for t in listed.json()] == [r.json()["id"]]


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("body_html", "<p>{{ contact.__class__ }}</p>"),
        ("body_html", "<p>{{ contact.__class__.__mro__[1].__subclasses__() }}</p>"),
        ("subject", "{{ ''.__class__ }}"),
        ("body_text", "{{ contact['__class__'] }}"),
        ("body_text", "{{ contact.items() }}"),
        ("body_text", "{{ cycler.__init__.__globals__ }}"),
    ],
)
async def test_the_sandbox_refuses_attribute_access_beyond_the_public_fields(
    client: AsyncClient, db: AsyncSession, world: World, field: str, source: str
) -> None:
    r = await client.post(T, json=email(**{field: source}), headers=world.a["manager"].headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field
    assert await db.scalar(select(func.count()).select_from(MessageTemplate)) == 0


async def test_an_unknown_merge_field_or_a_syntax_error_names_the_field_and_line(
    client: AsyncClient, world: World
) -> None:
    h = world.a["manager"].headers
    r = await client.post(T, json=email(body_html="<p>Hi</p>\n<p>{{ contact.email }}</p>"), headers=h)
    assert r.status_code == 422
    d = r.json()["error"]["details"][0]
    assert d["field"] == "body_html" and "line 2" in d["message"] and "email" in d["message"]
    r = await client.post(T, json=email(body_text="Hi\n\n{% if contact.city %}oops"), headers=h)
    assert r.status_code == 422
    d = r.json()["error"]["details"][0]
    assert d["field"] == "body_text" and "line 3" in d["message"]


async def test_preview_renders_for_a_real_contact_with_html_escaped(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    c = await add_contact(db, world.org_a.id, first_name="<b>Ion</b>", city="Cluj & Napoca")
    body = email(contact_id=str(c.id))
    body.pop("name")
    r = await client.post(P, json=body, headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["body_html"] == "<p>Hello &lt;b&gt;Ion&lt;/b&gt; from Cluj &amp; Napoca</p>"
    assert out["subject"] == "Thank you <b>Ion</b>"  # a subject is not HTML
    assert out["sms"] is None and "first_name" in out["fields"] and "email" not in out["fields"]


async def test_sms_preview_counts_length_and_segments_of_the_rendered_text(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    c = await add_contact(db, world.org_a.id, first_name="Ștefan")
    h = world.a["manager"].headers
    r = await client.post(
        P, json={"channel": "sms", "body_text": "Salut {{ contact.first_name }}!", "contact_id": str(c.id)}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["body_text"] == "Salut Ștefan!"
    assert r.json()["sms"] == {"encoding": "UCS-2", "length": 13, "segments": 1, "per_segment": 70}
    r = await client.post(P, json={"channel": "sms", "body_text": "x" * 161}, headers=h)
    assert r.json()["sms"] == {"encoding": "GSM-7", "length": 161, "segments": 2, "per_segment": 153}


async def test_an_sms_template_over_ten_segments_is_refused(client: AsyncClient, world: World) -> None:
    r = await client.post(
        T, json={"name": "long", "channel": "sms", "body_text": "ă" * (67 * 10 + 1)}, headers=world.a["manager"].headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "body_text"


async def test_preview_of_another_organizations_contact_is_a_422(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    c = await add_contact(db, world.org_b.id)
    r = await client.post(
        P,
        json={"channel": "sms", "body_text": "Hi {{ contact.first_name }}", "contact_id": str(c.id)},
        headers=world.a["manager"].headers,
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "contact_id"


@pytest.mark.parametrize("role", ["team_leader", "volunteer"])
async def test_only_staff_with_send_messages_may_write_templates(
    client: AsyncClient, db: AsyncSession, world: World, role: str
) -> None:
    assert not role_can(role, Perm.send_messages)
    r = await client.post(T, json=email(), headers=world.a[role].headers)
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/messaging/campaigns",
        json={"name": "x", "template_id": str(world.org_a.id)},
        headers=world.a[role].headers,
    )
    assert r.status_code == 403
    assert await db.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    assert role_can("manager", Perm.send_messages) and role_can("admin", Perm.send_messages)
