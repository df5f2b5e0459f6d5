"""Input contract, generated from the app's own OpenAPI schema (issue 13, lines 4 to 6), so a new endpoint or field
is covered by itself:

* a PATCH/PUT property the schema says cannot be null, sent as null, is a 422 naming it; a nullable one never 500s;
* every integer (path, query, body) has bounds that fit PostgreSQL's 32-bit `integer`; past them it is a 422;
* values of the wrong JSON type are refused, not coerced: `0` for a boolean or a date, `"1"` for a number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.core.schemas import INT4_MAX
from app.models import Action, Contact, Opportunity, Organization, Team, Zone
from tests.reliability._openapi import BodyMaker, Operation, operations
from tests.reliability.conftest import Rel

# Operations whose body, even wrong, changes who the fuzzing admin is (it would lock the next requests out).
SKIP = {"users-update"}


@pytest.fixture
def data(rel: Rel, client: AsyncClient) -> Rel:
    """The package's committed world; `client` makes this test's own writes roll back."""
    return rel


def _fields(r: Response) -> list[str]:
    try:
        details = r.json().get("error", {}).get("details") or []
    except ValueError:
        return []
    return [str(d.get("field")) for d in details]


def _names(r: Response, prop: str) -> bool:
    return any(f == prop or f.startswith(prop + ".") for f in _fields(r))


def _nullable(maker: BodyMaker, s: dict[str, Any]) -> bool:
    s = maker.resolve(s)
    t = s.get("type")
    return (
        t == "null"
        or (isinstance(t, list) and "null" in t)
        or any(_nullable(maker, b) for b in s.get("anyOf", []) + s.get("oneOf", []))
    )


def _json_writes(data: Rel) -> Iterator[tuple[Operation, BodyMaker, dict[str, Any], dict[str, Any], str]]:
    """(operation, body maker, body schema, a minimal valid body, url) for every JSON write on A's own objects."""
    maker = BodyMaker(data.schema, data.a.params)
    for op in operations(data.schema):
        if op.content_type != "application/json" or op.op_id in SKIP:
            continue
        base = maker.for_op(op)
        if not isinstance(base, dict):
            continue
        url = op.url(data.a.params) if op.path_params else op.path
        yield op, maker, maker.body_schema(op) or {}, base, url


async def test_null_for_a_field_that_cannot_be_null_is_a_422_naming_it(client: AsyncClient, data: Rel) -> None:
    admin = data.world.a["admin"].headers
    failures, checked = [], 0
    for op, maker, schema, base, url in _json_writes(data):
        if op.method not in ("patch", "put"):
            continue
        for prop, s in schema.get("properties", {}).items():
            r = await client.request(op.method, url, headers=admin, json={**base, prop: None})
            checked += 1
            if _nullable(maker, s):
                if r.status_code >= 500:
                    failures.append(f"{op} {prop}=null (nullable): {r.status_code} {r.text[:200]}")
            elif r.status_code != 422 or not _names(r, prop):
                failures.append(f"{op} {prop}=null: {r.status_code} {r.text[:200]}")
    assert checked > 40, checked
    assert not failures, "\n".join(failures)


def _integers(maker: BodyMaker, s: dict[str, Any], path: str, seen: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in s:
        if s["$ref"] in seen:
            return
        seen = seen | {s["$ref"]}
    s = maker.resolve(s)
    t = s.get("type")
    if t == "integer" or (isinstance(t, list) and "integer" in t):
        yield path, s
    for b in s.get("anyOf", []) + s.get("oneOf", []) + s.get("allOf", []):
        yield from _integers(maker, b, path, seen)
    for k, v in s.get("properties", {}).items():
        yield from _integers(maker, v, f"{path}.{k}", seen)
    if isinstance(s.get("items"), dict):
        yield from _integers(maker, s["items"], f"{path}[]", seen)
    if isinstance(s.get("additionalProperties"), dict):
        yield from _integers(maker, s["additionalProperties"], f"{path}{{}}", seen)


def _all_integers(schema: dict[str, Any]) -> Iterator[tuple[Operation, str, dict[str, Any]]]:
    maker = BodyMaker(schema)
    for op in operations(schema):
        for p in op.spec.get("parameters", []):
            for where, s in _integers(maker, p.get("schema", {}), f"{p['in']}:{p['name']}", set()):
                yield op, where, s
        for ct, content in ((op.spec.get("requestBody") or {}).get("content") or {}).items():
            for where, s in _integers(maker, content.get("schema", {}), f"body({ct})", set()):
                yield op, where, s


def test_every_integer_input_has_bounds_that_fit_a_32_bit_column(app: Any) -> None:
    found = list(_all_integers(app.openapi()))
    assert len(found) > 10, "the schema walk found too few integers"
    unbounded = [
        f"{op} {where}: minimum {s.get('minimum')}, maximum {s.get('maximum')}"
        for op, where, s in found
        if s.get("minimum", s.get("exclusiveMinimum")) is None
        or s.get("maximum", s.get("exclusiveMaximum", INT4_MAX + 1)) > INT4_MAX
    ]
    assert not unbounded, "\n".join(unbounded)


async def test_an_integer_past_32_bits_is_a_422_not_a_server_error(client: AsyncClient, data: Rel) -> None:
    admin = data.world.a["admin"].headers
    maker = BodyMaker(data.schema, data.a.params)
    failures, checked = [], 0
    for op in operations(data.schema):
        if op.op_id in SKIP:
            continue
        params = {p["name"]: p for p in op.spec.get("parameters", []) if p["in"] == "query"}
        ints = [n for n, p in params.items() if any(True for _ in _integers(maker, p.get("schema", {}), n, set()))]
        url = op.url(data.a.params) if op.path_params else op.path
        for name in ints:
            r = await client.request(op.method, url, params={name: 2**31}, headers=admin, **maker.request_kwargs(op))
            checked += 1
            if r.status_code != 422 or not _names(r, name):
                failures.append(f"{op} ?{name}=2**31: {r.status_code} {r.text[:200]}")
    for op, maker, schema, base, url in _json_writes(data):
        for prop, s in schema.get("properties", {}).items():
            if any(w == prop for w, _ in _integers(maker, s, prop, set())):
                r = await client.request(op.method, url, headers=admin, json={**base, prop: 2**31})
                checked += 1
                if r.status_code != 422 or not _names(r, prop):
                    failures.append(f"{op} {prop}=2**31: {r.status_code} {r.text[:200]}")
    assert checked > 10, checked
    assert not failures, "\n".join(failures)


def _wrong_values(maker: BodyMaker, s: dict[str, Any]) -> list[Any]:
    """JSON values of another type that lax parsing would coerce into this property's type."""
    s = maker.resolve(s)
    branches = [maker.resolve(b) for b in s.get("anyOf", [])] or [s]
    types = {b.get("type") for b in branches}
    formats = {b.get("format") for b in branches}
    if "string" in types and formats & {"date", "date-time"}:
        return [0, 1.5, True]
    if types <= {"boolean", "null"} and "boolean" in types:
        return [0, 1, "true"]
    if types <= {"integer", "null"} and "integer" in types:
        return ["1", 1.0, True]
    if types <= {"number", "null"} and "number" in types:
        return ["1.5", True]
    return []


async def test_values_of_the_wrong_type_are_refused_not_coerced(client: AsyncClient, data: Rel) -> None:
    admin = data.world.a["admin"].headers
    failures, checked = [], 0
    for op, maker, schema, base, url in _json_writes(data):
        for prop, s in schema.get("properties", {}).items():
            for v in _wrong_values(maker, s):
                r = await client.request(op.method, url, headers=admin, json={**base, prop: v})
                checked += 1
                if r.status_code != 422 or not _names(r, prop):
                    failures.append(f"{op} {prop}={v!r}: {r.status_code} {r.text[:200]}")
    # and inside the segment filter, the object every search, count, preview and export takes
    for prop, v in (("not_contacted_since", 0), ("has_mobile", 0), ("age_min", "18"), ("contacted_since", 1.5)):
        r = await client.post("/api/v1/contacts/count", headers=admin, json={"filter": {prop: v}})
        checked += 1
        if r.status_code != 422 or not _names(r, f"filter.{prop}"):
            failures.append(f"contacts-count filter.{prop}={v!r}: {r.status_code} {r.text[:200]}")
    assert checked > 50, checked
    assert not failures, "\n".join(failures)


# PATCH bodies and the table they write: a property named like a column is nullable exactly when the column is.
PATCHED_TABLES = {
    "organization-update": Organization,
    "zones-update": Zone,
    "teams-update": Team,
    "actions-update": Action,
    "opportunities-update": Opportunity,
    "contacts-update": Contact,
}
# Properties that are nullable in the body for a documented reason other than "store a null".
NULL_MEANS_SOMETHING = {
    ("contacts-update", "first_name"): "null clears the name (stored as '')",
    ("contacts-update", "last_name"): "null clears the name (stored as '')",
    ("contacts-update", "tags"): "null clears the tags (stored as {})",
}


def test_patch_bodies_and_the_tables_they_write_agree_on_what_may_be_null(app: Any) -> None:
    schema = app.openapi()
    maker = BodyMaker(schema)
    ops = {o.op_id: o for o in operations(schema)}
    disagree, compared = [], 0
    for op_id, model in PATCHED_TABLES.items():
        columns = {c.key: c for c in model.__table__.columns}
        for prop, s in (maker.body_schema(ops[op_id]) or {}).get("properties", {}).items():
            if prop not in columns or (op_id, prop) in NULL_MEANS_SOMETHING:
                continue
            compared += 1
            if _nullable(maker, s) != bool(columns[prop].nullable):
                disagree.append(f"{op_id}.{prop}: body nullable {_nullable(maker, s)}, column {columns[prop].nullable}")
    assert compared > 20, compared
    assert not disagree, "\n".join(disagree)


def _string_limit(maker: BodyMaker, s: dict[str, Any]) -> int | None:
    s = maker.resolve(s)
    if s.get("type") == "string" and isinstance(s.get("maxLength"), int):
        return int(s["maxLength"])
    return next((n for b in s.get("anyOf", []) if (n := _string_limit(maker, b)) is not None), None)


async def test_a_string_past_its_max_length_is_a_422_naming_the_field_in_details(
    client: AsyncClient, data: Rel
) -> None:
    """Both ways past the limit: more characters, and the limit plus whitespace the model would strip."""
    admin = data.world.a["admin"].headers
    failures, checked = [], 0
    for op, maker, schema, base, url in _json_writes(data):
        for prop, s in schema.get("properties", {}).items():
            if (limit := _string_limit(maker, s)) is None or limit > 100_000:
                continue
            for value in ("a" * (limit + 1), " " + "a" * limit):
                r = await client.request(op.method, url, headers=admin, json={**base, prop: value})
                checked += 1
                if r.status_code != 422 or not _names(r, prop):
                    failures.append(f"{op} {prop} ({len(value)} > {limit}): {r.status_code} {r.text[:200]}")
    assert checked > 40, checked
    assert not failures, "\n".join(failures)
