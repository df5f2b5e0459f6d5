"""Zones: validated polygons, subdivided pieces kept in sync, data attributes, ranking for HQ."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from sqlalchemy import delete, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.audit import service as audit
from app.auth import references
from app.auth.principal import Principal
from app.auth.references import ZONE
from app.core import pagination
from app.core.errors import NotFound, Unprocessable
from app.core.geo import parse_area, to_ewkt
from app.core.pagination import Page
from app.models import Zone
from app.zones.schemas import FeatureCollectionImport, ZoneCreate, ZoneImportResult, ZoneRead, ZoneUpdate

PIECE_VERTICES = 128
FIGURES = ("contacts", "undecided_share", "supporters", "coverage")


class ZoneNotFound(NotFound):
    code = "zone_not_found"
    message = "Zone not found."


async def _sync_pieces(session: AsyncSession, org: uuid.UUID, zone_id: uuid.UUID) -> None:
    await session.execute(
        text("DELETE FROM zone_pieces WHERE organization_id = :o AND zone_id = :z"), {"o": org, "z": zone_id}
    )
    await session.execute(
        text(f"""
        INSERT INTO zone_pieces (organization_id, zone_id, piece_no, geom)
        SELECT :o, :z, row_number() OVER (), p.geom
        FROM zones z, LATERAL ST_Subdivide(z.geom, {PIECE_VERTICES}) AS p(geom)
        WHERE z.organization_id = :o AND z.id = :z"""),  # noqa: S608 - an int constant
        {"o": org, "z": zone_id},
    )


async def _code_taken(session: AsyncSession, org: uuid.UUID, code: str | None, exclude: uuid.UUID | None) -> None:
    if code is None:
        return
    q = select(Zone.id).where(Zone.organization_id == org, Zone.code == code)
    if exclude:
        q = q.where(Zone.id != exclude)
    if await session.scalar(q) is not None:
        raise Unprocessable("Another zone has this code.", details=[{"field": "code", "message": "already used"}])


async def create(session: AsyncSession, body: ZoneCreate, *, actor: Principal, repair: bool) -> Zone:
    area = parse_area(body.geometry, field="geometry", repair=repair)
    await references.check(session, actor, body, {"parent_id": ZONE})
    await _code_taken(session, actor.organization_id, body.code, None)
    z = Zone(
        organization_id=actor.organization_id,
        id=uuid.uuid4(),
        name=body.name,
        code=body.code,
        kind=body.kind,
        parent_id=body.parent_id,
        geom=to_ewkt(area),
        vertex_count=_vertices(area),
        attributes=body.attributes,
        created_by=actor.user_id,
    )
    session.add(z)
    await session.flush()
    await _sync_pieces(session, actor.organization_id, z.id)
    await audit.record(session, actor=actor, action="zone.created", object_type="zone", object_id=z.id)
    return z


def _vertices(area: Any) -> int:
    import shapely

    return int(shapely.get_num_coordinates(area))


async def get(session: AsyncSession, zone_id: uuid.UUID, *, actor: Principal) -> Zone:
    z = await session.scalar(select(Zone).where(Zone.organization_id == actor.organization_id, Zone.id == zone_id))
    if z is None:
        raise ZoneNotFound()
    return z


async def update(session: AsyncSession, z: Zone, body: ZoneUpdate, *, actor: Principal, repair: bool) -> Zone:
    data = body.model_dump(exclude_unset=True)
    if "parent_id" in data:
        if data["parent_id"] == z.id:
            raise Unprocessable("A zone cannot be its own parent.", details=[{"field": "parent_id", "message": "self"}])
        await references.check(session, actor, body, {"parent_id": ZONE})
    if "code" in data:
        await _code_taken(session, actor.organization_id, data["code"], z.id)
    if body.geometry is not None:
        area = parse_area(body.geometry, field="geometry", repair=repair)
        z.geom = to_ewkt(area)
        z.vertex_count = _vertices(area)
    for k in ("name", "code", "kind", "parent_id"):
        if k in data:
            setattr(z, k, data[k])
    if body.attributes is not None:
        z.attributes = {**(z.attributes or {}), **body.attributes}
    await session.flush()
    if body.geometry is not None:
        await _sync_pieces(session, actor.organization_id, z.id)
    return z


async def remove(session: AsyncSession, z: Zone, *, actor: Principal) -> None:
    await session.execute(delete(Zone).where(Zone.organization_id == z.organization_id, Zone.id == z.id))
    await audit.record(session, actor=actor, action="zone.deleted", object_type="zone", object_id=z.id)


async def _shapes(
    session: AsyncSession, org: uuid.UUID, ids: list[uuid.UUID], with_geometry: bool
) -> dict[uuid.UUID, tuple[str | None, list[float]]]:
    """GeoJSON (when asked) and bounding box of several zones, in one query."""
    rows = (
        await session.execute(
            select(
                Zone.id,
                func.ST_AsGeoJSON(Zone.geom, 7) if with_geometry else text("NULL"),
                func.ST_XMin(Zone.geom),
                func.ST_YMin(Zone.geom),
                func.ST_XMax(Zone.geom),
                func.ST_YMax(Zone.geom),
            ).where(Zone.organization_id == org, Zone.id.in_(ids))
        )
    ).all()
    return {r[0]: (r[1], [r[2], r[3], r[4], r[5]]) for r in rows}


def _to_read(z: Zone, shape: tuple[str | None, list[float]]) -> ZoneRead:
    return ZoneRead(
        id=z.id,
        name=z.name,
        code=z.code,
        kind=z.kind,
        parent_id=z.parent_id,
        vertex_count=z.vertex_count,
        attributes=z.attributes or {},
        geometry=json.loads(shape[0]) if shape[0] else None,
        bbox=shape[1],
        created_at=z.created_at,
    )


async def read(session: AsyncSession, z: Zone, *, with_geometry: bool = True) -> ZoneRead:
    return _to_read(z, (await _shapes(session, z.organization_id, [z.id], with_geometry))[z.id])


async def figures(session: AsyncSession, org: uuid.UUID, zone_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Live figures per zone, each contact counted once even on a shared edge of two pieces."""
    if not zone_ids:
        return {}
    rows = (
        await session.execute(
            text("""
        SELECT z.zone_id, count(*) AS contacts,
               avg(CASE WHEN c.support_level = 3 THEN 1.0 WHEN c.support_level IS NOT NULL THEN 0.0 END)
                 AS undecided_share,
               count(*) FILTER (WHERE c.support_level = 1) AS supporters,
               avg(CASE WHEN c.last_contacted_at IS NOT NULL THEN 1.0 ELSE 0.0 END) AS coverage
        FROM (SELECT DISTINCT p.zone_id, c.id AS cid FROM zone_pieces p
              JOIN contacts c ON c.organization_id = p.organization_id AND ST_Covers(p.geom, c.location)
              WHERE p.organization_id = :o AND p.zone_id = ANY(:ids)) z
        JOIN contacts c ON c.organization_id = :o AND c.id = z.cid
        GROUP BY z.zone_id"""),
            {"o": org, "ids": zone_ids},
        )
    ).all()
    out: dict[uuid.UUID, dict[str, Any]] = {
        z: {"contacts": 0, "undecided_share": None, "supporters": 0, "coverage": None} for z in zone_ids
    }
    for r in rows:
        out[r.zone_id] = {
            "contacts": r.contacts,
            "undecided_share": _f(r.undecided_share),
            "supporters": r.supporters,
            "coverage": _f(r.coverage),
        }
    return out


def _f(v: Any) -> float | None:
    return round(float(v), 4) if v is not None else None


async def list_zones(
    session: AsyncSession,
    *,
    actor: Principal,
    kind: str | None,
    parent_id: uuid.UUID | None,
    rank_by: str | None,
    descending: bool,
    limit: int,
    cursor: str | None,
    with_geometry: bool,
) -> Page[ZoneRead]:
    """Zones by name, or ranked by a figure or an attribute; keyset pages and the true total either way."""
    await references.check_query(session, actor, {"parent_id": ZONE}, parent_id=parent_id)
    q = select(Zone).where(Zone.organization_id == actor.organization_id)
    if kind:
        q = q.where(Zone.kind == kind)
    if parent_id:
        q = q.where(Zone.parent_id == parent_id)
    total = await session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    # The geometry itself stays in the database (zones reach 100k vertices); _shapes fetches what is shown.
    q = q.options(defer(Zone.geom))
    figs: dict[uuid.UUID, dict[str, Any]] = {}
    if rank_by:
        # A live figure is known only once computed over every zone: rank them all, then keyset over the ranking.
        zones = list((await session.scalars(q)).all())
        if rank_by in FIGURES:
            figs = await figures(session, actor.organization_id, [z.id for z in zones])

        def key(z: Zone) -> list[Any]:
            v = (
                figs[z.id].get(rank_by)
                if rank_by in FIGURES
                else _number((z.attributes or {}).get(rank_by.removeprefix("attributes.")))
            )
            return [v is None, (-float(v) if descending else float(v)) if v is not None else 0.0, z.name, str(z.id)]

        zones.sort(key=key)
        if (last := pagination.after(cursor, pagination.boolean, float, str, str)) is not None:
            zones = [z for z in zones if key(z) > last]
        page, nxt = pagination.cut(zones[: limit + 1], limit, key)
    else:
        if (last := pagination.after(cursor, str, uuid.UUID)) is not None:
            q = q.where(tuple_(Zone.name, Zone.id) > tuple_(literal(last[0]), literal(last[1])))
        rows = (await session.scalars(q.order_by(Zone.name, Zone.id).limit(limit + 1))).all()
        page, nxt = pagination.cut(rows, limit, lambda z: [z.name, str(z.id)])
    shapes = await _shapes(session, actor.organization_id, [z.id for z in page], with_geometry)
    out = [_to_read(z, shapes[z.id]) for z in page]
    for zr in out:
        if figs:
            zr.figures = figs[zr.id]
    return Page[ZoneRead](items=out, next_cursor=nxt, total=total)


def _number(v: Any) -> float | None:
    try:
        return float(v) if v is not None and not isinstance(v, bool) else None
    except (TypeError, ValueError):
        return None


async def import_features(
    session: AsyncSession, body: FeatureCollectionImport, *, actor: Principal, repair: bool
) -> ZoneImportResult:
    """All or nothing: the first invalid feature is a 422 naming it, and nothing is stored."""
    created = updated = 0
    zones: list[Zone] = []
    for i, feat in enumerate(body.features):
        props = feat.get("properties") or {}
        name = props.get(body.name_property)
        if not isinstance(name, str) or not name.strip():
            raise Unprocessable(
                f"Feature {i} has no name.",
                details=[{"field": f"features.{i}.properties.{body.name_property}", "message": "missing name"}],
            )
        code = (
            str(props[body.code_property]) if body.code_property and props.get(body.code_property) is not None else None
        )
        area = parse_area(feat.get("geometry"), field=f"features.{i}.geometry", repair=repair)
        attrs = {k: v for k, v in props.items() if k not in (body.name_property, body.code_property)}
        existing = (
            await session.scalar(select(Zone).where(Zone.organization_id == actor.organization_id, Zone.code == code))
            if code
            else None
        )
        if existing is not None:
            existing.geom, existing.vertex_count, existing.name = to_ewkt(area), _vertices(area), name.strip()
            existing.attributes = {**(existing.attributes or {}), **attrs}
            await session.flush()
            await _sync_pieces(session, actor.organization_id, existing.id)
            zones.append(existing)
            updated += 1
            continue
        z = Zone(
            organization_id=actor.organization_id,
            id=uuid.uuid4(),
            name=name.strip()[:200],
            code=code,
            kind=body.kind,
            geom=to_ewkt(area),
            vertex_count=_vertices(area),
            attributes=attrs,
            created_by=actor.user_id,
        )
        session.add(z)
        await session.flush()
        await _sync_pieces(session, actor.organization_id, z.id)
        zones.append(z)
        created += 1
    await audit.record(
        session,
        actor=actor,
        action="zone.imported",
        object_type="zone",
        object_id=None,
        details={"created": created, "updated": updated},
    )
    shapes = await _shapes(session, actor.organization_id, [z.id for z in zones], False)
    return ZoneImportResult(created=created, updated=updated, zones=[_to_read(z, shapes[z.id]) for z in zones])


async def import_attributes_csv(session: AsyncSession, data: bytes, *, actor: Principal) -> int:
    """A CSV keyed by zone code (column `code`); every other column becomes an attribute (numbers parsed)."""
    try:
        textdata = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        textdata = data.decode("windows-1250", errors="replace")
    first = textdata.splitlines()[0] if textdata.strip() else ""
    reader = csv.DictReader(io.StringIO(textdata), delimiter=";" if first.count(";") > first.count(",") else ",")
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise Unprocessable("The CSV needs a `code` column.", details=[{"field": "file", "message": "no code column"}])
    n = 0
    for line, row in enumerate(reader, start=2):
        code = (row.pop("code") or "").strip()
        z = await session.scalar(select(Zone).where(Zone.organization_id == actor.organization_id, Zone.code == code))
        if z is None:
            raise Unprocessable(
                f"Line {line}: no zone with code {code!r}.",
                details=[{"field": f"line.{line}", "message": "unknown zone code"}],
            )
        z.attributes = {**(z.attributes or {}), **{k: _parse(v) for k, v in row.items() if k}}
        n += 1
    await session.flush()
    return n


def _parse(v: str | None) -> Any:
    if v is None:
        return None
    s = v.strip()
    num = _number(s.replace(",", ".")) if s else None
    return num if num is not None else s
