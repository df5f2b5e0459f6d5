"""Issue 13.1, generated from the app's own OpenAPI schema: every id a request carries in its query string or
JSON body (however deep: `opportunities[].assignee_user_id`, `filter.zone_ids[]`, `assignment.user_id`), sent by
organization A with organization B's id of the same kind, or with a random uuid, is a 422 naming that field,
and nothing is stored. A new operation or a new id field is covered by itself (an id whose kind the test does
not know fails loudly until KIND_OF below says which of the world's ids fits it)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models.base import TENANT_TABLES
from tests.reliability._openapi import BodyMaker, IdField, Operation, id_fields, operations
from tests.reliability._world import SQUARE
from tests.reliability.conftest import Rel

# The world's id (tests/reliability/_world.py, by parameter name) that fits each id field, by the field's name.
KIND_OF = {
    "action_id": "action_id",
    "type_id": "type_id",
    "contact_id": "contact_id",
    "other_id": "contact_id",
    "contact_ids": "contact_id",
    "survey_id": "survey_id",
    "segment_id": "segment_id",
    "zone_ids": "zone_id",
    "parent_id": "zone_id",
    "team_id": "team_id",
    "team_ids": "team_id",
    "assignee_team_id": "team_id",
    "user_id": "user_id",
    "user_ids": "user_id",
    "volunteer_ids": "user_id",
    "assignee_user_id": "user_id",
    "leader_user_id": "user_id",
    "member_id": "user_id",
    "target_id": "target_id",
    "target_ids": "target_id",
    "door_id": "target_id",
    "template_id": "template_id",
    "p2p_template_id": "template_id",
    "to_user_id": "user_id",
    "to_team_id": "team_id",
}

# Ids that are not references to an object the caller must be able to see, and why.
NOT_REFERENCES = {
    ("calls-report", "id"): "the client's own UUID for the report (idempotency), not a reference",
    ("visits-create", "id"): "the client's own UUID for the visit (idempotency), not a reference",
    ("reports-correct", "id"): "the client's own UUID for the correction (idempotency), not a reference",
    ("p2p-text-sent", "id"): "the client's own UUID for the logged text (idempotency), not a reference",
}
# Names ending in _id/_ids that are not uuids, and why they are not checked here.
NOT_UUIDS = {
    "object_id": "audit log filter: free text naming objects that may since have been deleted",
    "question_id": "a survey question's key, validated against the survey version by the survey service",
    "goto_question_id": "a survey question's key inside the survey being written",
    "last_event_id": "the dashboard stream's resume point: the id of the last event received, not an object",
    "message_id": "email events: the Message-ID header of a message we sent (<…@domain>), not a row id",
}
# Checked, but elsewhere than app/auth/references.py and answered otherwise, with the reason.
ELSEWHERE = {
    ("visits-create", "target_id"): (404, "checked in app/calling/reports.py (404 naming target_id)"),
    ("visits-create", "door_id"): (404, "checked in app/calling/reports.py (404 naming door_id)"),
}

VOLUNTEER_OPS = {"calls-report", "reports-details", "visits-create"}
# Bodies the generic maker cannot make valid by itself (the id under test is then set into them).
BASE: dict[str, dict[str, Any]] = {
    "visits-create": {"outcome": "opened", "new_contact": {"first_name": "Met", "consent_data_processing": True}},
    "zones-create": {"name": "Zone", "geometry": SQUARE},
    "actions-targets-reassign": {"matching": {}},
}


@pytest.fixture
def data(rel: Rel, client: AsyncClient) -> Rel:
    return rel


def _fields(r: Response) -> list[str]:
    try:
        return [d.get("field") for d in r.json()["error"]["details"]]
    except (ValueError, KeyError, TypeError):
        return []


def _required_query(op: Operation) -> dict[str, Any]:
    """The operation's required query parameters, each at its documented example (`bbox` of the hexbins), so the
    id under test is the only thing wrong with the request."""
    out = {}
    for p in op.spec.get("parameters", []):
        if p.get("in") == "query" and p.get("required"):
            examples = p.get("examples") or (p.get("schema") or {}).get("examples")
            assert examples, f"{op}: give the required query parameter {p['name']} an example"
            out[p["name"]] = examples[0]
    return out


def _branch(maker: BodyMaker, s: dict[str, Any], want: str) -> dict[str, Any]:
    s = maker.resolve(s)
    for b in s.get("anyOf", []) + s.get("oneOf", []):
        b = maker.resolve(b)
        if b.get("type") == want or (want == "object" and "properties" in b):
            return b
    return s


def _put(maker: BodyMaker, obj: Any, schema: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at `path` in `obj`, making each missing level a minimal valid instance of its schema."""
    head, rest = path[0], path[1:]
    if head == "*":
        items = _branch(maker, schema, "array").get("items", {})
        if not obj:
            obj.append(maker.make(_branch(maker, items, "object"), "item"))
        if rest:
            _put(maker, obj[0], items, rest, value)
        else:
            obj[0] = value
        return
    prop = _branch(maker, schema, "object")["properties"][head]
    if not rest:
        obj[head] = value
        return
    nxt = "array" if rest[0] == "*" else "object"
    if not isinstance(obj.get(head), (dict, list)):
        obj[head] = [] if nxt == "array" else maker.make(_branch(maker, prop, "object"), head)
    _put(maker, obj[head], prop, rest, value)


async def _row_counts(db: AsyncSession, *orgs: uuid.UUID) -> dict[str, int]:
    counts: dict[str, int] = {}
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TENANT_TABLES if t != "organizations")
    for org in orgs:
        await set_tenant(db, org)
        for table, n in (await db.execute(text(union))).all():
            counts[f"{org}:{table}"] = int(n)
    return counts


async def _door_action(client: AsyncClient, data: Rel) -> str:
    """A door-to-door action of A with A's volunteer on it (visits are for door-to-door actions)."""
    vol = data.world.a["volunteer"]
    r = await client.post(
        "/api/v1/actions",
        headers=data.world.a["manager"].headers,
        json={
            "type": "door_to_door",
            "title": "Doors",
            "filter": {"tags_any": ["bank"]},
            "status": "active",
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(vol.user_id)]},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _cases(data: Rel) -> list[tuple[Operation, IdField]]:
    cases = []
    for op in operations(data.schema):
        for f in id_fields(data.schema, op):
            if (op.op_id, f.path[-1]) not in NOT_REFERENCES:
                cases.append((op, f))
    return cases


async def test_every_id_in_a_body_or_query_names_the_field_when_foreign_or_unknown(
    client: AsyncClient, db: AsyncSession, data: Rel
) -> None:
    cases = _cases(data)
    assert len({op.op_id for op, _ in cases}) >= 20, "the schema walk found too few operations with ids"
    unknown = sorted({f.path[-1] for _, f in cases} - set(KIND_OF))
    assert not unknown, f"say in KIND_OF which world id fits {unknown} so this test covers it"
    a, b = data.world.org_a.id, data.world.org_b.id
    own = BodyMaker(data.schema, data.a.params)
    values = dict(data.a.params)
    values["target_id"] = data.a.params.get("target2_id", values["target_id"])  # leased, not yet reported
    door = await _door_action(client, data)
    failures: list[str] = []
    for op, f in cases:
        actor = data.world.a["volunteer" if op.op_id in VOLUNTEER_OPS else "admin"]
        path_values = {**values, "action_id": door} if op.op_id == "visits-create" else values
        url = op.url(path_values)
        for whose, bad in (("B's", data.b.params[KIND_OF[f.path[-1]]]), ("a random", str(uuid.uuid4()))):
            value: Any = [bad] if f.many else bad
            kw: dict[str, Any] = {}
            if f.where == "query":
                kw["params"] = {**_required_query(op), f.path[0]: bad}
            else:
                body = copy.deepcopy(BASE.get(op.op_id) or own.for_op(op))
                if (op.op_id, "id") in NOT_REFERENCES:  # a fresh client UUID: never a replay
                    body["id"] = str(uuid.uuid4())
                _put(own, body, own.body_schema(op) or {}, f.path, value)
                kw["json"] = body
            before = await _row_counts(db, a, b)
            r = await client.request(op.method, url, headers=actor.headers, **kw)
            where = f"{op} with {whose} id in {f.where} {f.name}"
            expected = ELSEWHERE.get((op.op_id, f.path[-1]), (422, ""))[0]
            if r.status_code != expected or f.name not in _fields(r):
                failures.append(f"{where}: {r.status_code} {r.text[:300]}")
            if r.status_code >= 500:
                continue
            after = await _row_counts(db, a, b)
            if changed := sorted(k for k in after if after[k] != before.get(k)):
                failures.append(f"{where}: rows written in {changed}")
    assert not failures, "\n".join(failures)


def test_every_id_named_field_is_a_uuid_or_exempt_with_a_reason(data: Rel) -> None:
    """A property or query parameter named *_id / *_ids that is not a uuid escapes the test above: each one
    must be here with its reason."""
    found = set()

    def walk(s: Any) -> None:
        if isinstance(s, dict):
            for name, prop in (s.get("properties") or {}).items():
                if name.endswith(("_id", "_ids")):
                    found.add((name, "uuid" in str(prop)))
            for v in s.values():
                walk(v)
        elif isinstance(s, list):
            for v in s:
                walk(v)

    inputs = {
        ref.rsplit("/", 1)[-1]
        for op in operations(data.schema)
        for ref in _refs((op.spec.get("requestBody") or {}).get("content", {}))
    }
    for name in inputs:
        walk(data.schema["components"]["schemas"][name])
    for op in operations(data.schema):
        for p in op.spec.get("parameters", []):
            if p.get("in") == "query" and p["name"].endswith(("_id", "_ids")):
                found.add((p["name"], "uuid" in str(p.get("schema"))))
    not_uuid = {n for n, is_uuid in found if not is_uuid}
    assert not_uuid <= set(NOT_UUIDS), f"not uuids, not exempt: {sorted(not_uuid - set(NOT_UUIDS))}"


def _refs(s: Any) -> list[str]:
    if isinstance(s, dict):
        return ([s["$ref"]] if "$ref" in s else []) + [r for v in s.values() for r in _refs(v)]
    if isinstance(s, list):
        return [r for v in s for r in _refs(v)]
    return []
