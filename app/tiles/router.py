from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.auth.dependencies import CurrentUser
from app.contacts.filters import FilterQ, SegmentQ, from_query
from app.core.db import SessionDep
from app.tiles import service

router = APIRouter(prefix="/tiles", tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/contacts/{z}/{x}/{y}.mvt",
    operation_id="tiles-contacts",
    response_class=Response,
    responses={
        200: {"content": {MVT: {"schema": {"type": "string", "format": "binary"}}}, "description": "layer contacts"},
        204: {"description": "No visible contact in this tile."},
    },
)
async def contacts_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    filter: FilterQ = None,
    segment_id: SegmentQ = None,
) -> Response:
    """Layer `contacts`: below zoom 14 one point per grid cell (`count`, dominant `support_level`,
    `support_mean`), from zoom 14 each contact (`support_level`, absent when unknown; `id`)."""
    tile = service.check_tile(z, x, y)
    data = await service.contacts_tile(
        session,
        tile,
        from_query(filter, segment_id),
        actor=user,
        timeout_ms=request.app.state.settings.limits.tile_statement_timeout_ms,
    )
    if not data:
        return Response(status_code=204)
    return Response(data, media_type=MVT, headers={"Cache-Control": "private, max-age=30"})
