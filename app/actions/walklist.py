"""Walk lists: a volunteer's door-to-door targets grouped by street and building (households), in walking
order (street, odd side then even side, house number), or, given the volunteer's position, in route order (nearest
building first, by PostGIS geography distance), with GeoJSON for the map."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import references
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import MEMBER
from app.core.errors import Forbidden, Unprocessable
from app.core.pagination import decode_cursor, encode_cursor
from app.core.schemas import INT4_MAX
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
    distance_m: float | None = Field(None, description="From the given position (route order only), in metres.")
    households: list[Household]


class Street(BaseModel):
    street: str
    city: str | None
    buildings: list[Building]


class WalkList(BaseModel):
    streets: list[Street]
    geojson: dict[str, Any]
    total: int = Field(description="Households in the whole walk list (every page).")
    next_cursor: str | None = Field(None, description="The next page, in walking order; null on the last page.")


# The walking order as a key of non-null values, all ascending, so that a page ends and the next one starts with
# one row comparison: city (nulls last), street, odd side then even side (numbers first), house number, the rest of
# the number, building (none first), name, then the target for uniqueness. Up to 9 digits of a house number are
# read as a number (a longer one still sorts, by its text).
_NUM = "NULLIF(substring(c.street_number from '^[0-9]{1,9}'), '')::int"
_KEY = [
    "(c.city IS NULL)",
    "coalesce(c.city, '')",
    "coalesce(c.street, '')",
    f"(CASE {_NUM} % 2 WHEN 1 THEN 0 WHEN 0 THEN 1 ELSE 2 END)",
    f"coalesce({_NUM}, 0)",
    "coalesce(c.street_number, '')",
    "(c.building IS NOT NULL)",
    "coalesce(c.building, '')",
    "c.last_name",
    "c.first_name",
    "t.id",
]
_KEY_TYPES = ["boolean", "text", "text", "int", "int", "text", "boolean", "text", "text", "text", "uuid"]

# Route order: the distance in metres from the volunteer to the building (its nearest household, so that a
# building's households stay together), buildings with no location last; ties keep the walking order.
_BUILDING_DIST = (
    "min(ST_Distance(c.location::geography, ST_SetSRID(ST_MakePoint(:near_lon, :near_lat), 4326)::geography)) "
    "OVER (PARTITION BY c.city, c.street, c.street_number, c.building)"
)
_ROUTE_KEY = [f"({_BUILDING_DIST} IS NULL)", f"coalesce({_BUILDING_DIST}, 0)"]
_ROUTE_KEY_TYPES = ["boolean", "float8"]


def near_point(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """Both coordinates or neither."""
    if (lat is None) != (lon is None):
        field = "near_lon" if lon is None else "near_lat"
        raise Unprocessable(
            "Give both near_lat and near_lon.", details=[{"field": field, "message": "required with the other"}]
        )
    return None if lat is None or lon is None else (lat, lon)


def _key(near: tuple[float, float] | None) -> tuple[list[str], list[str]]:
    if near is None:
        return _KEY, _KEY_TYPES
    return _ROUTE_KEY + _KEY, _ROUTE_KEY_TYPES + _KEY_TYPES


def _after(cursor: str | None, types: list[str]) -> tuple[str, dict[str, Any]]:
    """The page's start as a condition on the key columns k0…kN of the ordered rows (a cursor from the other
    order, walking or route, has another length and is refused)."""
    values = decode_cursor(cursor)
    if values is None:
        return "", {}
    if len(values) != len(types):
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}])
    try:
        keys = {f"c{i}": _PARSE[t](str(v)) for i, (t, v) in enumerate(zip(types, values, strict=True))}
    except ValueError as e:
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e
    cols = ", ".join(f"k{i}" for i in range(len(types)))
    marks = ", ".join(f"CAST(:c{i} AS {t})" for i, t in enumerate(types))
    return f" WHERE ({cols}) > ({marks})", keys


def _float(v: str) -> float:
    x = float(v)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(v)
    return x


def _int4(v: str) -> int:
    n = int(v)
    if abs(n) > INT4_MAX:
        raise ValueError(v)
    return n


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise ValueError(v)
    return v == "true"


_PARSE: dict[str, Callable[[str], Any]] = {
    "boolean": _bool,
    "text": str,
    "int": _int4,
    "uuid": uuid.UUID,
    "float8": _float,
}


async def walklist(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    action_id: uuid.UUID,
    user_id: uuid.UUID | None,
    turf_no: int | None,
    limit: int = 1000,
    cursor: str | None = None,
    near: tuple[float, float] | None = None,
) -> WalkList:
    """`near` = (lat, lon) of the volunteer: route order, nearest building first; otherwise walking order."""
    where = ["t.organization_id = :o", "t.action_id = :a"]
    p: dict[str, Any] = {"o": organization_id, "a": action_id}
    if user_id is not None:
        where.append("t.assignee_user_id = :u")
        p["u"] = user_id
    if turf_no is not None:
        where.append("t.turf_no = :t")
        p["t"] = turf_no
    scope = " AND ".join(where)
    order_key, types = _key(near)
    if near is not None:
        p["near_lat"], p["near_lon"] = near
    after, keys = _after(cursor, types)
    cols = ", ".join(f"k{i}" for i in range(len(order_key)))
    keyed = ", ".join(f"{k} AS k{i}" for i, k in enumerate(order_key))
    rows = (
        (
            await session.execute(
                text(f"""
        SELECT *, ARRAY[{", ".join(f"k{i}::text" for i in range(len(order_key)))}] AS key FROM (
          SELECT t.id AS target_id, c.id AS contact_id, c.first_name, c.last_name, t.status, t.last_outcome,
                 coalesce(c.street, '') AS street, c.city, c.street_number, c.building,
                 ST_Y(c.location) AS lat, ST_X(c.location) AS lon, {keyed}
          FROM action_targets t JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
          WHERE {scope}
        ) ordered{after}
        ORDER BY {cols}
        LIMIT :limit"""),  # noqa: S608 - constant clauses, values bound
                {**p, **keys, "limit": limit + 1},
            )
        )
        .mappings()
        .all()
    )
    total = (
        await session.execute(
            text(f"SELECT count(*) FROM action_targets t WHERE {scope}"),  # noqa: S608 - constant clauses
            p,
        )
    ).scalar_one()
    nxt = encode_cursor(list(rows[limit - 1]["key"])) if len(rows) > limit else None
    rows = rows[:limit]
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
                    distance_m=None if near is None or r["k0"] else round(r["k1"], 1),
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
    return WalkList(
        streets=streets, geojson={"type": "FeatureCollection", "features": features}, total=total, next_cursor=nxt
    )


async def walklist_for(
    session: AsyncSession,
    a: Action,
    *,
    actor: Principal,
    user_id: uuid.UUID | None,
    turf: int | None,
    limit: int,
    cursor: str | None,
    near: tuple[float, float] | None = None,
) -> WalkList:
    """One's own walk list; leaders may read a volunteer's, and with no `user_id` managers get the whole action."""
    if user_id is not None and user_id != actor.user_id and not actor.can(Perm.lead_actions):
        raise Forbidden("You can only see your own walk list.")
    await references.check_query(session, actor, {"user_id": MEMBER}, user_id=user_id)
    who = user_id if user_id is not None else (None if actor.can(Perm.manage_actions) else actor.user_id)
    return await walklist(
        session,
        organization_id=a.organization_id,
        action_id=a.id,
        user_id=who,
        turf_no=turf,
        limit=limit,
        cursor=cursor,
        near=near,
    )
