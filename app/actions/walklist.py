"""Walk lists: a volunteer's door-to-door targets grouped by street and building (households), in walking
order (street, odd side then even side, house number), with GeoJSON for the map."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core import references
from app.core.errors import Forbidden
from app.core.references import MEMBER
from app.models import Action


class Household(BaseModel):
    target_id: uuid.UUID
    contact_id: uuid.UUID
    first_name: str
    last_name: str
    status: str
    last_outcome: str | None


class Building(BaseModel):
    key: str
    number: str | None
    building: str | None
    lat: float | None
    lon: float | None
    households: list[Household]


class Street(BaseModel):
    street: str
    city: str | None
    buildings: list[Building]


class WalkList(BaseModel):
    streets: list[Street]
    geojson: dict[str, Any]
    total: int


async def walklist(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    action_id: uuid.UUID,
    user_id: uuid.UUID | None,
    turf_no: int | None,
) -> WalkList:
    where = ["t.organization_id = :o", "t.action_id = :a"]
    p: dict[str, Any] = {"o": organization_id, "a": action_id}
    if user_id is not None:
        where.append("t.assignee_user_id = :u")
        p["u"] = user_id
    if turf_no is not None:
        where.append("t.turf_no = :t")
        p["t"] = turf_no
    rows = (
        (
            await session.execute(
                text(f"""
        SELECT t.id AS target_id, c.id AS contact_id, c.first_name, c.last_name, t.status, t.last_outcome,
               coalesce(c.street, '') AS street, c.city, c.street_number, c.building,
               ST_Y(c.location) AS lat, ST_X(c.location) AS lon,
               NULLIF(substring(c.street_number from '^[0-9]+'), '')::int AS num
        FROM action_targets t JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
        WHERE {" AND ".join(where)}
        ORDER BY c.city NULLS LAST, coalesce(c.street, ''),
                 (NULLIF(substring(c.street_number from '^[0-9]+'), '')::int % 2) DESC NULLS LAST,
                 NULLIF(substring(c.street_number from '^[0-9]+'), '')::int NULLS LAST, c.street_number,
                 c.building NULLS FIRST, c.last_name, c.first_name
        LIMIT 5000"""),  # noqa: S608 - constant clauses, values bound
                p,
            )
        )
        .mappings()
        .all()
    )
    streets: list[Street] = []
    features: list[dict[str, Any]] = []
    for r in rows:
        if not streets or streets[-1].street != r["street"] or streets[-1].city != r["city"]:
            streets.append(Street(street=r["street"], city=r["city"], buildings=[]))
        key = f"{r['street']}|{r['street_number'] or ''}|{r['building'] or ''}"
        st = streets[-1]
        if not st.buildings or st.buildings[-1].key != key:
            st.buildings.append(
                Building(
                    key=key,
                    number=r["street_number"],
                    building=r["building"],
                    lat=r["lat"],
                    lon=r["lon"],
                    households=[],
                )
            )
        st.buildings[-1].households.append(
            Household(
                target_id=r["target_id"],
                contact_id=r["contact_id"],
                first_name=r["first_name"],
                last_name=r["last_name"],
                status=r["status"],
                last_outcome=r["last_outcome"],
            )
        )
        if r["lat"] is not None:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                    "properties": {"target_id": str(r["target_id"]), "building_key": key, "status": r["status"]},
                }
            )
    return WalkList(streets=streets, geojson={"type": "FeatureCollection", "features": features}, total=len(rows))


async def walklist_for(
    session: AsyncSession, a: Action, *, actor: Principal, user_id: uuid.UUID | None, turf: int | None
) -> WalkList:
    """One's own walk list; leaders may read a volunteer's, and with no `user_id` managers get the whole action."""
    if user_id is not None and user_id != actor.user_id and not actor.can(Perm.lead_actions):
        raise Forbidden("You can only see your own walk list.")
    await references.check_query(session, actor, {"user_id": MEMBER}, user_id=user_id)
    who = user_id if user_id is not None else (None if actor.can(Perm.manage_actions) else actor.user_id)
    return await walklist(session, organization_id=a.organization_id, action_id=a.id, user_id=who, turf_no=turf)
