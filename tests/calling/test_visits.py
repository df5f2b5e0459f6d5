from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ActionTarget, ConsentLog, Contact, FieldReport
from tests.calling.conftest import Walk, make_walk


async def test_visit_records_outcome_and_a_person_met_at_the_door_with_consent(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    w = await make_walk(live_client, live_db, [(26.05, 44.45), (26.05, 44.45), (26.06, 44.46)])
    org, vol, target = w.org, w.volunteer, w.door["target_id"]
    body = {
        "id": str(uuid.uuid4()),
        "target_id": target,
        "outcome": "opened",
        "consent_given": True,
        "comment": "Friendly",
        "quality": 5,
        "new_contact": {
            "first_name": "Irina",
            "last_name": "Lungu",
            "mobile": "0744 555 666",
            "consent_data_processing": True,
            "consents": {"sms": "granted"},
        },
    }
    r = await live_client.post(w.visits, headers=vol.headers, json=body)
    assert r.status_code == 200, r.text
    again = await live_client.post(w.visits, headers=vol.headers, json=body)
    assert again.json() == r.json()
    no_consent = {
        **body,
        "id": str(uuid.uuid4()),
        "new_contact": {**body["new_contact"], "consent_data_processing": False},
    }
    bad = await live_client.post(w.visits, headers=vol.headers, json=no_consent)
    assert bad.status_code == 422
    await set_tenant(live_db, org.id)
    irina = await live_db.scalar(select(Contact).where(Contact.organization_id == org.id, Contact.last_name == "Lungu"))
    assert irina is not None
    assert irina.mobile_e164 == "+40744555666" and irina.source == "visit" and irina.location is not None
    consents = {
        (c.channel, c.source)
        for c in (
            await live_db.scalars(
                select(ConsentLog).where(ConsentLog.organization_id == org.id, ConsentLog.contact_id == irina.id)
            )
        ).all()
    }
    assert consents == {("data_processing", "visit"), ("sms", "visit")}
    t = await live_db.scalar(
        select(ActionTarget).where(ActionTarget.organization_id == org.id, ActionTarget.id == uuid.UUID(target))
    )
    assert t is not None and t.status == "done" and t.last_outcome == "opened"
    assert (
        await live_db.scalar(select(func.count()).select_from(FieldReport).where(FieldReport.organization_id == org.id))
        == 1
    )


async def _met_twice(client: AsyncClient, w: Walk, field: str, first_name: str, last_name: str) -> None:
    """A person met at the walk's first door, sent twice by its volunteer (`field`: "target_id" reports the door's
    visit, "door_id" only names the door): the second answer is the first's."""
    body = {
        "id": str(uuid.uuid4()),
        field: w.door["target_id"],
        "outcome": "opened",
        "new_contact": {"first_name": first_name, "last_name": last_name, "consent_data_processing": True},
    }
    r = await client.post(w.visits, headers=w.volunteer.headers, json=body)
    assert r.status_code == 200, r.text
    assert (await client.post(w.visits, headers=w.volunteer.headers, json=body)).json() == r.json()


async def test_a_person_met_at_a_door_joins_that_buildings_household_at_its_address_and_location(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    w = await make_walk(live_client, live_db, [(26.05, 44.45), (26.09, 44.49)])
    org, vol, url, building, door = w.org, w.volunteer, w.url, w.building, w.door
    await _met_twice(live_client, w, "target_id", "Ana", "Vecina")
    after = (await live_client.get(url, headers=vol.headers)).json()
    found = [
        (b, h) for s in after["streets"] for b in s["buildings"] for h in b["households"] if h["last_name"] == "Vecina"
    ]
    assert len(found) == 1
    b, h = found[0]
    assert b["key"] == building["key"] and (b["lat"], b["lon"]) == (building["lat"], building["lon"])
    assert h["status"] == "done" and h["last_outcome"] == "opened"
    assert {x["last_name"] for x in b["households"]} >= {door["last_name"], "Vecina"}
    await set_tenant(live_db, org.id)
    ana = await live_db.scalar(select(Contact).where(Contact.organization_id == org.id, Contact.last_name == "Vecina"))
    door_contact = await live_db.scalar(
        select(Contact).where(Contact.organization_id == org.id, Contact.id == uuid.UUID(door["contact_id"]))
    )
    assert ana is not None and door_contact is not None
    assert (ana.street, ana.street_number, ana.city) == (
        door_contact.street,
        door_contact.street_number,
        door_contact.city,
    )


async def test_a_person_added_from_the_walk_list_joins_that_buildings_household_and_leaves_its_door_unvisited(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    """The walk list's "Add person" names the door (`door_id`) without reporting its visit: the same rule as the
    door flow places the person at the building's address and location, in its households."""
    w = await make_walk(live_client, live_db, [(26.05, 44.45), (26.09, 44.49)])
    org, vol, aid, url, building, door = w.org, w.volunteer, w.action_id, w.url, w.building, w.door
    await _met_twice(live_client, w, "door_id", "Dana", "Scara")

    await set_tenant(live_db, org.id)
    dana = await live_db.scalar(select(Contact).where(Contact.organization_id == org.id, Contact.last_name == "Scara"))
    at = await live_db.scalar(
        select(Contact).where(Contact.organization_id == org.id, Contact.id == uuid.UUID(door["contact_id"]))
    )
    assert dana is not None and at is not None
    assert (dana.street, dana.street_number, dana.postal_code, dana.city) == (
        at.street,
        at.street_number,
        at.postal_code,
        at.city,
    )
    assert await live_db.scalar(select(func.ST_Equals(Contact.location, at.location)).where(Contact.id == dana.id))
    # Her household: a target of the door's action, turf and walker; the door itself was not visited.
    targets = {
        t.contact_id: t
        for t in (
            await live_db.scalars(
                select(ActionTarget).where(
                    ActionTarget.organization_id == org.id, ActionTarget.action_id == uuid.UUID(aid)
                )
            )
        ).all()
    }
    knocked, hers = targets[at.id], targets[dana.id]
    assert (knocked.status, knocked.attempts) == ("pending", 0)
    assert (hers.turf_no, hers.seq, hers.assignee_user_id) == (knocked.turf_no, knocked.seq, vol.user_id)
    assert (hers.status, hers.last_outcome) == ("done", "opened")
    rep = await live_db.scalar(select(FieldReport).where(FieldReport.organization_id == org.id))
    assert rep is not None and (rep.contact_id, rep.target_id) == (dana.id, None)
    after = (await live_client.get(url, headers=vol.headers)).json()
    [same] = [b for s in after["streets"] for b in s["buildings"] if b["key"] == building["key"]]
    assert {h["last_name"] for h in same["households"]} >= {door["last_name"], "Scara"}


async def test_door_id_is_a_door_of_this_walk_list_and_only_beside_a_new_contact(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    w = await make_walk(live_client, live_db, [(26.05, 44.45)])
    org, vol, target = w.org, w.volunteer, w.door["target_id"]
    met = {"first_name": "Dan", "consent_data_processing": True}
    url = w.visits
    unknown = {"id": str(uuid.uuid4()), "door_id": str(uuid.uuid4()), "outcome": "opened", "new_contact": met}
    r = await live_client.post(url, headers=vol.headers, json=unknown)
    assert r.status_code == 404 and r.json()["error"]["details"][0]["field"] == "door_id", r.text
    both = {"id": str(uuid.uuid4()), "target_id": target, "door_id": target, "outcome": "opened", "new_contact": met}
    assert (await live_client.post(url, headers=vol.headers, json=both)).status_code == 422
    alone = {"id": str(uuid.uuid4()), "door_id": target, "outcome": "opened"}
    assert (await live_client.post(url, headers=vol.headers, json=alone)).status_code == 422
    await set_tenant(live_db, org.id)
    assert await live_db.scalar(select(func.count()).select_from(Contact).where(Contact.first_name == "Dan")) == 0
