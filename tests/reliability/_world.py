"""Builds, through the API, one organization's worth of data (contacts with phones and emails, a zone, a call
action with targets and a report, a survey, an opportunity type and an opportunity, a team, a segment, an export,
an invitation, a tag, an action document, an import, a message template and a campaign) and remembers every id
and every identifier."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from httpx import AsyncClient, Response

from tests.fixtures.factories import Actor
from tests.tiles.mvt import tile_of

PHONE_RE = re.compile(r"\+\d{8,15}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")

SQUARE = {"type": "Polygon", "coordinates": [[[26.0, 44.4], [26.1, 44.4], [26.1, 44.5], [26.0, 44.5], [26.0, 44.4]]]}


@dataclass
class OrgData:
    """Path-parameter values (by parameter name) and the identifiers that must never leave the organization."""

    params: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    responses: list[tuple[str, Response]] = field(default_factory=list)


def _ok(r: Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200, 201, 202, 204)), f"{r.request.method} {r.request.url}: {r.text}"
    return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None


async def build_org_data(client: AsyncClient, people: dict[str, Actor], tag: str) -> OrgData:
    """`tag` makes every name unique to this organization (e.g. "Bzq")."""
    d = OrgData()
    admin, mgr, vol = people["admin"].headers, people["manager"].headers, people["volunteer"]
    low = tag.lower()

    async def call(method: str, url: str, headers: dict[str, str], **kw: Any) -> Response:
        r = await client.request(method, url, headers=headers, **kw)
        d.responses.append((f"{method} {url}", r))
        return r

    contact_ids = []
    for i, (mobile, home) in enumerate([("0722 555 %03d", None), ("+40 733 444 %03d", "021 310 %04d"), (None, None)]):
        first, last = f"Ioana{tag}{i}", f"Zamfirescu{tag}{i}"
        email = f"ioana.{low}{i}@example.net"
        body: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "address": {"street": f"Strada {tag} Memorandumului", "number": "12", "city": "Cluj-Napoca"},
            "location": {"lon": 26.05 + i / 1000, "lat": 44.45},
            "tags": ["bank", f"tag-{low}"],
            "support_level": 2,
            "consents": [{"channel": "phone", "status": "granted", "source": "app"}],
        }
        if mobile:
            body["mobile"] = mobile % (100 + len(tag) * 10 + i)
        if home:
            body["home_phone"] = home % (1000 + len(tag) * 10 + i)
        c = _ok(await call("POST", "/api/v1/contacts", mgr, json=body), 201)
        contact_ids.append(c["id"])
        d.secrets |= {first, last, email, f"Strada {tag} Memorandumului"}
        d.emails.add(email)
        for raw in (body.get("mobile"), body.get("home_phone")):
            if raw:
                digits = re.sub(r"\D", "", raw)
                e164 = "+40" + digits.lstrip("0") if not raw.startswith("+") else "+" + digits
                d.phones |= {e164, raw, digits}
    d.params["contact_id"] = contact_ids[0]
    d.params["z"], d.params["x"], d.params["y"] = (str(v) for v in tile_of(26.05, 44.45, 14))  # the contacts' tile

    zone = _ok(await call("POST", "/api/v1/zones", mgr, json={"name": f"Zone {tag}", "geometry": SQUARE}), 201)
    d.params["zone_id"] = zone["id"]
    d.secrets.add(f"Zone {tag}")

    team = _ok(
        await call(
            "POST",
            "/api/v1/teams",
            mgr,
            json={"name": f"Team {tag}", "leader_user_id": str(people["team_leader"].user_id)},
        ),
        201,
    )
    d.params["team_id"] = team["id"]
    d.secrets.add(f"Team {tag}")
    _ok(
        await call(
            "POST",
            f"/api/v1/teams/{team['id']}/members",
            mgr,
            json={"user_ids": [str(people["volunteer"].user_id), str(people["team_leader"].user_id)]},
        )
    )
    d.params["user_id"] = str(people["volunteer"].user_id)
    for p in people.values():
        d.secrets.add(p.email)

    survey = _ok(
        await call(
            "POST",
            "/api/v1/surveys",
            mgr,
            json={
                "title": f"Survey {tag}",
                "questions": [{"id": "worried", "kind": "yes_no", "label": "Worried?", "required": True}],
            },
        ),
        201,
    )
    d.params["survey_id"] = survey["id"]
    d.secrets.add(f"Survey {tag}")
    otype = _ok(await call("POST", "/api/v1/opportunity-types", mgr, json={"name": f"Helper {tag}"}), 201)
    d.params["type_id"] = otype["id"]
    d.secrets.add(f"Helper {tag}")

    action = _ok(
        await call(
            "POST",
            "/api/v1/actions",
            mgr,
            json={
                "type": "call",
                "title": f"Bank {tag}",
                "filter": {"tags_any": [f"tag-{low}"]},
                "survey_id": survey["id"],
                "team_ids": [team["id"]],
                "allow_others": True,
                "status": "active",
                "assignment": {"strategy": "round_robin", "volunteer_ids": [str(vol.user_id)]},
            },
        ),
        201,
    )
    d.params["action_id"] = action["id"]
    d.secrets.add(f"Bank {tag}")
    doc = _ok(
        await call(
            "POST",
            f"/api/v1/actions/{action['id']}/documents",
            mgr,
            files={"file": (f"brief-{low}.pdf", b"%PDF-1.4 " + tag.encode(), "application/pdf")},
        ),
        201,
    )
    d.params["document_id"] = doc["url"].rstrip("/").rsplit("/", 1)[-1]

    nxt = _ok(await call("POST", f"/api/v1/actions/{action['id']}/calls/next", vol.headers), 200)
    d.params["target_id"] = nxt["id"]
    # the one response allowed to carry a phone number (not recorded in d.responses on purpose)
    start = await client.post(f"/api/v1/calls/{nxt['id']}/start", headers=vol.headers)
    _ok(start, 200)
    assert PHONE_RE.search(start.text), start.text
    d.params["report_id"] = str(uuid.uuid4())
    report = _ok(
        await call(
            "POST",
            f"/api/v1/calls/{nxt['id']}/report",
            vol.headers,
            json={
                "id": d.params["report_id"],
                "outcome": "answered",
                "consent_given": True,
                "survey_answers": [{"question_id": "worried", "value": True}],
                "comment": f"Comment {tag}",
                "opportunities": [{"type_id": otype["id"], "note": f"Note {tag}"}],
            },
        )
    )
    assert report is not None
    # a second target, started but not reported, so a live lease exists too
    nxt2 = await call("POST", f"/api/v1/actions/{action['id']}/calls/next", vol.headers)
    if nxt2.status_code == 200:
        d.params["target2_id"] = nxt2.json()["id"]

    opp = _ok(
        await call(
            "POST",
            "/api/v1/opportunities",
            mgr,
            json={"type_id": otype["id"], "contact_id": contact_ids[1], "note": f"Opp {tag}"},
        ),
        201,
    )
    d.params["opportunity_id"] = opp["id"]
    _ok(await call("POST", f"/api/v1/opportunities/{opp['id']}/comments", mgr, json={"text": f"Remark {tag}"}), 201)
    d.secrets |= {f"Opp {tag}", f"Remark {tag}", f"Note {tag}", f"Comment {tag}"}

    _ok(await call("POST", f"/api/v1/contacts/{contact_ids[0]}/notes", mgr, json={"text": f"Memo {tag}"}), 201)
    d.secrets.add(f"Memo {tag}")

    seg = _ok(
        await call("POST", "/api/v1/segments", mgr, json={"name": f"Segment {tag}", "filter": {"tags_any": ["bank"]}}),
        201,
    )
    d.params["segment_id"] = seg["id"]
    d.secrets.add(f"Segment {tag}")
    exp = _ok(
        await call(
            "POST",
            "/api/v1/exports",
            mgr,
            json={"filter": {"tags_any": [f"tag-{low}"]}, "columns": ["first_name", "mobile", "email"]},
        ),
        201,
    )
    d.params["export_id"] = exp["id"]

    inv = _ok(
        await call(
            "POST", "/api/v1/invitations", admin, json={"email": f"invitee.{low}@example.net", "role": "volunteer"}
        ),
        201,
    )
    d.params["invitation_id"] = inv["id"]
    d.params["token"] = inv["token"]
    d.secrets |= {f"invitee.{low}@example.net", inv["token"]}
    d.emails.add(f"invitee.{low}@example.net")

    tpl = _ok(
        await call(
            "POST",
            "/api/v1/messaging/templates",
            mgr,
            json={"name": f"Template {tag}", "channel": "sms", "body_text": f"Hi {{{{ contact.first_name }}}} {tag}"},
        ),
        201,
    )
    d.params["template_id"] = tpl["id"]
    camp = _ok(
        await call(
            "POST",
            "/api/v1/messaging/campaigns",
            mgr,
            json={"name": f"Campaign {tag}", "template_id": tpl["id"], "filter": {"segment_id": seg["id"]}},
        ),
        201,
    )
    d.params["campaign_id"] = camp["id"]
    d.secrets |= {f"Template {tag}", f"Campaign {tag}"}

    key = _ok(
        await call("POST", "/api/v1/api-keys", admin, json={"name": f"Key {tag}", "scopes": ["contacts:read"]}), 201
    )
    d.params["key_id"] = key["id"]
    d.secrets |= {key["key"]}
    # A public address literal: the SSRF check needs no DNS (refused without network here); no worker runs in this
    # world, so nothing is ever sent to it.
    hook = _ok(
        await call(
            "POST",
            "/api/v1/webhooks",
            admin,
            json={"url": f"https://93.184.215.14/hook-{low}", "events": ["visit.reported", "contact.created"]},
        ),
        201,
    )
    d.params["webhook_id"] = hook["id"]
    d.secrets |= {hook["secret"]} if "secret" in hook else set()
    # Inbox messages come from the SMS provider's signed webhook (no provider here): an id of no message, so the
    # reply route is walked (404 for senders) without a message to leak. The provider webhooks name the org.
    d.params["message_id"] = str(uuid.uuid4())
    d.params["organization_id"] = str(people["admin"].org.id)
    # An event for the endpoint, in the outbox: add_webhook_delivery (below) fans it out into a real delivery.
    hooked = f"Hooked{tag}"
    _ok(await call("POST", "/api/v1/contacts", mgr, json={"first_name": hooked, "last_name": "Person"}), 201)
    d.secrets |= {hooked}

    petition = _ok(
        await call(
            "POST",
            "/api/v1/petitions",
            admin,
            json={"slug": f"petition-{low}", "title": f"Petition {tag}", "status": "open"},
        ),
        201,
    )
    d.params["petition_id"] = petition["id"]
    d.secrets |= {f"Petition {tag}"}

    tag_name = f"secret-{low}"
    _ok(await call("POST", "/api/v1/tags", mgr, json={"name": tag_name}), 201)
    d.params["name"] = tag_name
    d.secrets |= {tag_name, f"tag-{low}"}

    csv = f"first_name,last_name,mobile\nImported{tag},Person{tag},0744 9{len(tag)}1 234\n".encode()
    imp = await call(
        "POST",
        "/api/v1/imports",
        mgr,
        files={"file": (f"people-{low}.csv", csv, "text/csv")},
        data={"mapping": json.dumps({"first_name": "first_name", "last_name": "last_name", "mobile": "mobile"})},
    )
    _ok(imp, 202)
    d.params["import_id"] = imp.json()["id"]
    d.secrets |= {f"Imported{tag}", f"Person{tag}", f"people-{low}.csv"}
    return d


class _NoQueue:
    """No worker runs in this world: the fan-out's delivery is written, and never sent."""

    async def enqueue_job(self, *args: Any, **kw: Any) -> None:
        return None


async def add_webhook_delivery(app: Any, d: OrgData, organization_id: uuid.UUID) -> None:
    """The real fan-out of the organization's outbox (the contact created after its webhook): a delivery row, so
    the replay route and the delivery log are walked with an id that exists."""
    from sqlalchemy import select

    from app.core.db import set_tenant
    from app.integrations.delivery import dispatch
    from app.models import WebhookDelivery

    maker = app.state.real_sessionmaker
    # A worker running in this test process (another suite's) may have fanned the outbox out first: either way
    # the delivery row exists once the outbox is drained.
    await dispatch({"sessionmaker": maker, "redis": _NoQueue()}, str(organization_id))
    did = None
    for _ in range(100):
        async with maker() as session, session.begin():
            await set_tenant(session, organization_id)
            q = select(WebhookDelivery.id).where(WebhookDelivery.organization_id == organization_id).limit(1)
            did = await session.scalar(q)
        if did is not None:
            break
        await asyncio.sleep(0.1)
    assert did is not None, "the outbox fan-out made no delivery"
    d.params["delivery_id"] = str(did)
