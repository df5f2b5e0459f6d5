from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.auth import references
from app.auth.dependencies import CurrentUser, ReadSessionDep
from app.auth.references import SEGMENT
from app.contacts.filters import FilterQ, SegmentQ, from_query
from app.tiles import service
from app.tiles.service import MAX_ZOOM

router = APIRouter(prefix="/tiles", tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
# The schema's bounds; whether x and y fit the zoom (below 2^z) is checked by service.check_tile (a 422 too).
Z = Annotated[int, Path(ge=0, le=MAX_ZOOM, description=f"zoom, 0 to {MAX_ZOOM}")]
XY = Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1, description="tile column/row, 0 to 2^z - 1")]


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
    z: Z,
    x: XY,
    y: XY,
    request: Request,
    session: ReadSessionDep,
    user: CurrentUser,
    filter: FilterQ = None,
    segment_id: SegmentQ = None,
) -> Response:
    """Layer `contacts`: below zoom 14 one point per grid cell (`count`, dominant `support_level`,
    `support_mean`), from zoom 14 each contact (`support_level`, absent when unknown; `id`)."""
    tile = service.check_tile(z, x, y)
    await references.check_query(session, user, {"segment_id": SEGMENT}, segment_id=segment_id)
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
