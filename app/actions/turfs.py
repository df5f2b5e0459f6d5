"""Turfs of a door-to-door action for the map: one GeoJSON polygon per turf (the hull of its doors, widened a
little so a one-street turf is still an area), with its number, colour, assignee and counts. The targets a
viewer may see (app/actions/targets.py `in_scope`) are the only ones counted or drawn."""

from __future__ import annotations

import json
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.actions.targets import T, in_scope
from app.auth.principal import Principal
from app.core.errors import NotFound
from app.models import Action, ActionTarget, Contact, Turf, User
from app.models.statuses import FINISHED_TARGET

# ColorBrewer's colour-blind-safe qualitative "Dark2": readable with a dark outline on a light map.
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
MARGIN_M = 25


class TurfNotFound(NotFound):
    code = "turf_not_found"
    message = "Turf not found."


def colour(turf_no: int) -> str:
    return PALETTE[(turf_no - 1) % len(PALETTE)]


async def turfs_geojson(session: AsyncSession, a: Action, *, actor: Principal) -> dict[str, Any]:
    lead, partner = aliased(User), aliased(User)
    hull = func.ST_Buffer(cast(func.ST_ConvexHull(func.ST_Collect(Contact.location)), Geography), MARGIN_M)
    q = (
        select(
            T.turf_no,
            func.ST_AsGeoJSON(hull, 6).label("geom"),
            func.count().label("targets"),
            func.count().filter(T.status.in_([str(s) for s in FINISHED_TARGET])).label("done"),
            func.count(func.distinct(Contact.location)).label("doors"),
            func.min(cast(Turf.assignee_user_id, Text)).label("assignee_id"),
            func.min(lead.full_name).label("assignee"),
            func.min(partner.full_name).label("partner"),
        )
        .select_from(ActionTarget.__table__)
        .join(Contact, and_(Contact.organization_id == T.organization_id, Contact.id == T.contact_id))
        .outerjoin(
            Turf,
            and_(Turf.organization_id == T.organization_id, Turf.action_id == T.action_id, Turf.turf_no == T.turf_no),
        )
        .outerjoin(lead, lead.id == Turf.assignee_user_id)
        .outerjoin(partner, partner.id == Turf.partner_user_id)
        .where(in_scope(actor, a.id), T.turf_no.is_not(None), Contact.location.is_not(None))
        .group_by(T.turf_no)
        .order_by(T.turf_no)
    )
    features = [
        {
            "type": "Feature",
            "id": r.turf_no,
            "geometry": json.loads(r.geom),
            "properties": {
                "turf_no": r.turf_no,
                "color": colour(r.turf_no),
                "assignee_user_id": r.assignee_id,
                "assignee": r.assignee,
                "partner": r.partner,
                "targets": r.targets,
                "done": r.done,
                "doors": r.doors,
            },
        }
        for r in (await session.execute(q)).all()
    ]
    return {"type": "FeatureCollection", "features": features}


async def ensure_turf(session: AsyncSession, a: Action, turf_no: int, *, actor: Principal) -> str | None:
    """The turf exists on this action with targets the viewer may see; returns its assignee's name."""
    row = (
        await session.execute(
            select(func.count(), func.min(User.full_name))
            .select_from(ActionTarget.__table__)
            .outerjoin(
                Turf,
                and_(
                    Turf.organization_id == T.organization_id, Turf.action_id == T.action_id, Turf.turf_no == T.turf_no
                ),
            )
            .outerjoin(User, User.id == Turf.assignee_user_id)
            .where(in_scope(actor, a.id), T.turf_no == turf_no)
        )
    ).one()
    if not row[0]:
        raise TurfNotFound(details=[{"field": "turf", "message": "no such turf on this action"}])
    return row[1]
