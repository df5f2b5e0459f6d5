"""Zones as a map layer with their figures: per-zone counts over the contacts the viewer may see (the contacts
visibility rule, and the segment filter when given), in two set-based statements whatever the number of zones.
A contact on a shared edge of two pieces of a zone counts once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts import repository as repo
from app.contacts.filters import SegmentFilter, resolve
from app.models import ActionTarget, Contact, Zone, ZonePiece
from app.zones.schemas import ZoneFeature, ZoneFigureCollection, ZoneFigures

GEOJSON_DIGITS = 6  # ~10 cm


async def _conditions(session: AsyncSession, f: SegmentFilter, actor: Principal) -> list[ColumnElement[bool]]:
    conds = await resolve(session, f, actor.organization_id)
    vis = repo.visible_to(actor).whereclause
    return [*conds, vis] if vis is not None else conds


async def layer(
    session: AsyncSession,
    f: SegmentFilter,
    *,
    actor: Principal,
    kind: str | None,
    parent_id: uuid.UUID | None,
    action_id: uuid.UUID | None,
    with_geometry: bool,
    timeout_ms: int,
) -> ZoneFigureCollection:
    org = actor.organization_id
    zq = select(
        Zone.id,
        Zone.name,
        Zone.code,
        Zone.kind,
        func.ST_AsGeoJSON(Zone.geom, GEOJSON_DIGITS) if with_geometry else text("NULL"),
    ).where(Zone.organization_id == org)
    if kind:
        zq = zq.where(Zone.kind == kind)
    if parent_id:
        zq = zq.where(Zone.parent_id == parent_id)
    zones = (await session.execute(zq.order_by(Zone.name, Zone.id))).all()
    if not zones:
        return ZoneFigureCollection(features=[])
    conds = await _conditions(session, f, actor)
    await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    members = (
        select(
            ZonePiece.zone_id.label("zone_id"),
            Contact.id.label("cid"),
            Contact.support_level.label("s"),
            Contact.last_contacted_at.label("lc"),
        )
        .select_from(ZonePiece)
        .join(
            Contact,
            and_(
                Contact.organization_id == ZonePiece.organization_id, func.ST_Covers(ZonePiece.geom, Contact.location)
            ),
        )
        .where(ZonePiece.organization_id == org, ZonePiece.zone_id.in_([z.id for z in zones]), *conds)
        .distinct()
        .subquery("m")
    )
    m = members.c
    counts = (
        await session.execute(
            select(
                m.zone_id,
                func.count(),
                *[func.count().filter(m.s == level) for level in range(1, 6)],
                func.count().filter(m.s.is_(None)),
                func.count().filter(m.lc.is_not(None)),
            ).group_by(m.zone_id)
        )
    ).all()
    figs: dict[uuid.UUID, tuple[Any, ...]] = {r[0]: tuple(r[1:]) for r in counts}
    targets: dict[uuid.UUID, tuple[int, int]] = {}
    if action_id is not None:
        rows = (
            await session.execute(
                select(m.zone_id, func.count(), func.count().filter(ActionTarget.status == "done"))
                .select_from(members)
                .join(
                    ActionTarget,
                    and_(
                        ActionTarget.organization_id == org,
                        ActionTarget.action_id == action_id,
                        ActionTarget.contact_id == m.cid,
                    ),
                )
                .group_by(m.zone_id)
            )
        ).all()
        targets = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    features = []
    for z in zones:
        n, s1, s2, s3, s4, s5, unknown, contacted = figs.get(z.id, (0,) * 8)
        t = targets.get(z.id, (0, 0)) if action_id is not None else (None, None)
        props = ZoneFigures(
            id=z.id,
            name=z.name,
            code=z.code,
            kind=z.kind,
            contacts=n,
            support_1=s1,
            support_2=s2,
            support_3=s3,
            support_4=s4,
            support_5=s5,
            support_unknown=unknown,
            contacted=contacted,
            coverage=round(contacted / n, 4) if n else None,
            targets=t[0],
            targets_done=t[1],
        )
        features.append(ZoneFeature(id=z.id, geometry=json.loads(z[4]) if z[4] else None, properties=props))
    return ZoneFigureCollection(features=features)
