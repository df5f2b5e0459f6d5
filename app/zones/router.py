from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from app.actions.repository import ACTION
from app.auth import references
from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import SEGMENT, ZONE
from app.contacts.filters import FilterQ, SegmentQ, from_query
from app.core.db import SessionDep
from app.core.pagination import CursorQ, LimitQ, Page
from app.models import Zone
from app.zones import figures, service
from app.zones.schemas import (
    FeatureCollectionImport,
    ZoneCreate,
    ZoneFigureCollection,
    ZoneImportResult,
    ZoneRead,
    ZoneUpdate,
)

router = APIRouter(prefix="/zones", tags=["zones"])
ZoneEditor = Annotated[Principal, require(Perm.manage_zones)]
RepairQ = Annotated[bool, Query(description="Repair an invalid polygon with ST_MakeValid-like make_valid.")]
RankQ = Annotated[
    str | None,
    Query(
        pattern=r"^(contacts|undecided_share|supporters|coverage|attributes\.[A-Za-z0-9_]{1,64})$",
        description="A live figure (contacts, undecided_share, supporters, coverage) or attributes.<name>",
    ),
]
# Ids in the figures' query string: each must name an object the caller may see (a 422 naming the field).
FIGURES_QUERY = {"parent_id": ZONE, "action_id": ACTION, "segment_id": SEGMENT}


async def _zone(zone_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Zone:
    return await service.get(session, zone_id, actor=user)


VisibleZone = Annotated[Zone, Depends(_zone)]


@router.get("", operation_id="zones-list")
async def list_zones(
    session: SessionDep,
    user: CurrentUser,
    kind: str | None = None,
    parent_id: uuid.UUID | None = None,
    rank_by: RankQ = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: LimitQ = 200,
    cursor: CursorQ = None,
    with_geometry: bool = False,
) -> Page[ZoneRead]:
    return await service.list_zones(
        session,
        actor=user,
        kind=kind,
        parent_id=parent_id,
        rank_by=rank_by,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
        with_geometry=with_geometry,
    )


@router.get("/figures", operation_id="zones-figures")
async def zone_figures(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    kind: str | None = None,
    parent_id: uuid.UUID | None = None,
    action_id: Annotated[uuid.UUID | None, Query(description="Also count this action's targets per zone.")] = None,
    filter: FilterQ = None,
    segment_id: SegmentQ = None,
    with_geometry: bool = True,
) -> ZoneFigureCollection:
    """The zones as a GeoJSON layer, each with its figures over the contacts you may see (and the filter)."""
    await references.check_query(
        session, user, FIGURES_QUERY, parent_id=parent_id, action_id=action_id, segment_id=segment_id
    )
    return await figures.layer(
        session,
        from_query(filter, segment_id),
        actor=user,
        kind=kind,
        parent_id=parent_id,
        action_id=action_id,
        with_geometry=with_geometry,
        timeout_ms=request.app.state.settings.limits.tile_statement_timeout_ms,
    )


@router.post("", status_code=201, operation_id="zones-create")
async def create_zone(body: ZoneCreate, session: SessionDep, user: ZoneEditor, repair: RepairQ = False) -> ZoneRead:
    return await service.read(session, await service.create(session, body, actor=user, repair=repair))


@router.post("/import", status_code=201, operation_id="zones-import")
async def import_zones(
    body: FeatureCollectionImport, session: SessionDep, user: ZoneEditor, repair: RepairQ = False
) -> ZoneImportResult:
    return await service.import_features(session, body, actor=user, repair=repair)


@router.post("/attributes", operation_id="zones-attributes-import")
async def import_attributes(
    session: SessionDep, user: ZoneEditor, file: Annotated[UploadFile, File(description="CSV keyed by zone code")]
) -> dict[str, int]:
    data = await file.read(20 * 1024 * 1024 + 1)
    return {"updated": await service.import_attributes_csv(session, data, actor=user)}


@router.get("/{zone_id}", operation_id="zones-read")
async def read_zone(zone: VisibleZone, session: SessionDep, user: CurrentUser) -> ZoneRead:
    z = await service.read(session, zone)
    z.figures = (await service.figures(session, user.organization_id, [zone.id]))[zone.id]
    return z


@router.patch("/{zone_id}", operation_id="zones-update")
async def update_zone(
    body: ZoneUpdate, zone: VisibleZone, session: SessionDep, user: ZoneEditor, repair: RepairQ = False
) -> ZoneRead:
    return await service.read(session, await service.update(session, zone, body, actor=user, repair=repair))


@router.delete("/{zone_id}", status_code=204, operation_id="zones-delete")
async def delete_zone(zone: VisibleZone, session: SessionDep, user: ZoneEditor) -> Response:
    await service.remove(session, zone, actor=user)
    return Response(status_code=204)
