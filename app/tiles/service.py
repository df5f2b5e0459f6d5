"""Vector tiles of the contact base: tenant scope, the viewer's visibility and the segment filter, in PostGIS."""

from __future__ import annotations

from sqlalchemy import and_, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts import repository as repo
from app.contacts.filters import SegmentFilter, resolve
from app.core.errors import ServiceUnavailable, Unprocessable
from app.tiles.queries import Tile, tile_query

MAX_ZOOM = 22
QUERY_CANCELED = "57014"


class TileTooSlow(ServiceUnavailable):
    code = "tile_too_slow"
    message = "This tile took too long to build; zoom in or narrow the filter."


def check_tile(z: int, x: int, y: int) -> Tile:
    if not 0 <= z <= MAX_ZOOM:
        raise Unprocessable("Zoom out of range.", details=[{"field": "z", "message": f"0 to {MAX_ZOOM}"}])
    n = 2**z
    for name, v in (("x", x), ("y", y)):
        if not 0 <= v < n:
            raise Unprocessable(f"Tile {name} out of range.", details=[{"field": name, "message": f"0 to {n - 1}"}])
    return Tile(z, x, y)


async def contacts_tile(
    session: AsyncSession, tile: Tile, f: SegmentFilter, *, actor: Principal, timeout_ms: int
) -> bytes:
    """The MVT bytes (empty when no visible contact falls in the tile)."""
    conds = await resolve(session, f, actor.organization_id)
    vis = repo.visible_to(actor).whereclause
    if vis is not None:
        conds.append(vis)
    await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    try:
        data = await session.scalar(tile_query(tile, actor.organization_id, [and_(*conds)]))
    except DBAPIError as e:
        if _sqlstate(e) == QUERY_CANCELED:
            raise TileTooSlow() from e
        raise
    return bytes(data or b"")


def _sqlstate(e: DBAPIError) -> str | None:
    orig = getattr(e, "orig", None)
    for x in (orig, getattr(orig, "__cause__", None)):
        code = getattr(x, "sqlstate", None)
        if code:
            return str(code)
    return None
