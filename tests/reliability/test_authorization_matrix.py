"""R6: the authorization matrix, generated from the app's own OpenAPI schema, so a new endpoint is covered by
itself (and a new path parameter fails loudly until the world builder knows a value for it).

* every operation with an id in its path, called by each role of organization A with organization B's ids,
  answers exactly like it answers for an id that does not exist (404 unless listed in ROLE_GATED / NOT_IN_MATRIX
  below, with the reason), never 2xx, and never echoes any of B's identifiers;
* no response carries a phone number, except start call and the audited GDPR/segment exports for staff;
* unknown fields and read-only fields on every JSON write body are a 422 naming the field.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.auth.permissions import ROLE_PERMISSIONS, Perm, Role, role_can
from app.config import ROOT
from tests.reliability._gates import route_gates, route_paths
from tests.reliability._openapi import BodyMaker, Operation, operations
from tests.reliability._world import PHONE_RE, OrgData
from tests.reliability.conftest import Rel

ROLES = ("admin", "manager", "team_leader", "volunteer", "volunteer2")

# Operations that check the caller's role before looking the object up: a role without the permission gets the
# same 403 for a foreign id as for a non-existent one (it learns nothing about the id); roles with the permission
# must get a 404. Keyed by operation id, valued by the permission that gates it.
ROLE_GATED: dict[str, Perm] = {
    "users-read": Perm.view_members,
    "users-update": Perm.manage_org,
    "users-delete": Perm.manage_org,
    "invitations-delete": Perm.manage_members,
    "tags-delete": Perm.manage_contacts,
    "segments-delete": Perm.manage_contacts,
    "exports-read": Perm.export_contacts,
    "exports-download": Perm.export_contacts,
    "imports-read": Perm.manage_contacts,
    "imports-rejected": Perm.manage_contacts,
    "imports-cancel": Perm.manage_contacts,
    "surveys-replace": Perm.manage_actions,
    "surveys-results": Perm.lead_actions,
    "messaging-templates-read": Perm.send_messages,
    "messaging-campaigns-read": Perm.send_messages,
    "messaging-campaigns-test": Perm.send_messages,
    "messaging-campaigns-send": Perm.send_messages,
    "messaging-campaigns-pause": Perm.send_messages,
    "messaging-campaigns-resume": Perm.send_messages,
    "messaging-campaigns-cancel": Perm.send_messages,
    "api-keys-revoke": Perm.manage_org,
    "webhooks-read": Perm.manage_org,
    "webhooks-update": Perm.manage_org,
    "webhooks-delete": Perm.manage_org,
    "webhooks-deliveries-list": Perm.manage_org,
    "webhooks-deliveries-replay": Perm.manage_org,
    "messaging-personal-send": Perm.send_messages,
    "messaging-inbox-reply": Perm.send_messages,
    "teams-notify": Perm.send_messages,
    "petitions-read": Perm.manage_petitions,
    "petitions-update": Perm.manage_petitions,
}

# Operations with a path parameter that are deliberately not called with B's values, and why.
NOT_IN_MATRIX: dict[str, str] = {
    # The invitation token is a capability: whoever holds it may join B (that is what an invitation is); the
    # endpoint is unauthenticated, so A's roles are irrelevant. Accepting it would also consume B's invitation.
    # Checked below instead: an unknown token is a 404 naming nothing.
    "auth-invitations-accept": "capability token, unauthenticated by design",
    # z/x/y are map coordinates, not ids: any tile is a 200 or an empty 204 of the caller's own contacts.
    # tests/tiles proves another organization's contacts never appear in one.
    "tiles-contacts": "tile coordinates, not object ids",
    # The SMS provider's webhooks: no user session at all, authenticated by the provider's signature over the URL
    # (a 403 for any caller without it, whatever the organization). tests/messaging/test_sms_inbound.py.
    "messaging-sms-inbound": "provider webhook, signed by the provider, no user session",
    "messaging-sms-status": "provider webhook, signed by the provider, no user session",
}

# Responses allowed to carry a phone number: start call (the audited reveal) and, for staff, the audited
# GDPR access export and the segment export download.
PHONE_ALLOWED = {
    "calls-start": set(ROLES),
    "contacts-gdpr-export": {"admin", "manager"},
    "exports-download": {"admin", "manager"},
}

# Write bodies that legitimately carry `id`: the client's UUID that makes a phone's replays idempotent.
CLIENT_ID_OPS = {"calls-report", "visits-create", "reports-correct", "p2p-text-sent"}
READ_ONLY = ("id", "organization_id", "created_at", "updated_at")
UNKNOWN = "zz_not_a_field"


@pytest.fixture
def data(rel: Rel, client: AsyncClient) -> Rel:
    """The package's committed world; `client` makes this test's own writes roll back."""
    return rel


def _random_values(params: dict[str, str]) -> dict[str, str]:
    return {k: (f"nope-{uuid.uuid4().hex[:8]}" if k in ("name", "token") else str(uuid.uuid4())) for k in params}


def _leaks(r: Response, secrets: set[str], sent: str) -> list[str]:
    text = r.text
    return sorted(s for s in secrets if s in text and s not in sent)


def _values_for(op: Operation, d: OrgData) -> dict[str, str]:
    missing = [p for p in op.path_params if p not in d.params]
    assert not missing, f"{op}: add a value for {missing} to tests/reliability/_world.py so the matrix covers it"
    return d.params


async def test_foreign_ids_are_404_for_every_role_and_leak_nothing(client: AsyncClient, data: Rel) -> None:
    ops = [o for o in operations(data.schema) if o.path_params and o.op_id not in NOT_IN_MATRIX]
    assert len(ops) > 40, "the schema walk found too few operations"
    foreign = BodyMaker(data.schema, data.b.params)
    neutral = BodyMaker(data.schema)
    nowhere = _random_values(data.b.params)
    secrets = data.b.secrets | data.b.phones | {v for k, v in data.b.params.items() if k not in ("name",)}
    failures: list[str] = []
    for op in ops:
        values = _values_for(op, data.b)
        for role in ROLES:
            actor = data.world.a[role]
            url = op.url(values)
            r = await client.request(op.method, url, headers=actor.headers, **foreign.request_kwargs(op))
            ghost = await client.request(
                op.method, op.url(nowhere), headers=actor.headers, **neutral.request_kwargs(op)
            )
            perm = ROLE_GATED.get(op.op_id)
            expected = 403 if perm is not None and not role_can(role.rstrip("2"), perm) else 404
            where = f"{op} as A's {role}"
            if r.status_code != expected:
                failures.append(f"{where}: {r.status_code} (expected {expected}) {r.text[:300]}")
            if (r.status_code, _code(r)) != (ghost.status_code, _code(ghost)):
                failures.append(
                    f"{where}: B's id answers {r.status_code}/{_code(r)} but an unknown id "
                    f"{ghost.status_code}/{_code(ghost)}: the difference tells the object exists"
                )
            if leaked := _leaks(r, secrets, url):
                failures.append(f"{where}: response carries B's identifiers {leaked}")
            if PHONE_RE.search(r.text):
                failures.append(f"{where}: response carries a phone number")
    assert not failures, "\n".join(failures)


async def test_unknown_invitation_token_is_a_plain_404(client: AsyncClient, data: Rel) -> None:
    r = await client.post(
        f"/api/v1/auth/invitations/nope-{uuid.uuid4().hex}/accept",
        json={"password": "a-long-password", "full_name": "X"},
    )
    assert r.status_code == 404, r.text
    assert not _leaks(r, data.b.secrets | data.a.secrets, "")


async def test_lists_of_a_show_nothing_of_b(client: AsyncClient, data: Rel) -> None:
    own = await client.get("/api/v1/contacts", headers=data.world.b["admin"].headers)
    assert _leaks(own, data.b.secrets, ""), "sanity: B's own list shows B's identifiers, else this test is vacuous"
    failures = []
    for op in operations(data.schema):
        if op.method != "get" or op.path_params:
            continue
        for role in ROLES:
            r = await client.get(op.path, headers=data.world.a[role].headers)
            if r.status_code >= 500:
                failures.append(f"{op} as A's {role}: {r.status_code}")
            if leaked := _leaks(r, data.b.secrets | data.b.phones, ""):
                failures.append(f"{op} as A's {role}: B's identifiers {leaked}")
    assert not failures, "\n".join(failures)


async def test_no_phone_number_leaves_except_start_call_and_audited_exports(client: AsyncClient, data: Rel) -> None:
    """Every read (lists, reads, search, count, preview, claim) by every role of B on B's own data."""
    failures = []
    for where, r in data.b.responses:
        if PHONE_RE.search(r.text):
            failures.append(f"building the world, {where}: {PHONE_RE.findall(r.text)}")
    maker = BodyMaker(data.schema, data.b.params)
    reads = [
        o
        for o in operations(data.schema)
        if (o.method == "get" or o.op_id in ("contacts-search", "contacts-count", "actions-preview", "calls-next"))
    ]
    seen_allowed = set()
    for op in reads:
        values = _values_for(op, data.b)
        for role in ROLES:
            r = await client.request(
                op.method, op.url(values), headers=data.world.b[role].headers, **maker.request_kwargs(op)
            )
            if r.status_code >= 500:
                failures.append(f"{op} as B's {role}: {r.status_code} {r.text[:200]}")
            found = PHONE_RE.findall(r.text)
            if found and role in PHONE_ALLOWED.get(op.op_id, set()):
                seen_allowed.add(op.op_id)
            elif found:
                failures.append(f"{op} as B's {role} ({r.status_code}): phone numbers {found[:3]}")
            elif any(p in r.text for p in data.b.phones if len(p) >= 9):
                failures.append(f"{op} as B's {role}: a phone number in another format")
    assert not failures, "\n".join(failures)
    # the checks above would be vacuous if the data had no numbers to leak
    assert seen_allowed == {"contacts-gdpr-export", "exports-download"}, seen_allowed


def _code(r: Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


async def test_unknown_and_read_only_fields_on_writes_are_422_naming_the_field(client: AsyncClient, data: Rel) -> None:
    """As A's admin on A's own objects (so the lookup passes and only the body is at fault)."""
    maker = BodyMaker(data.schema, data.a.params)
    admin = data.world.a["admin"]
    failures = []
    checked = 0
    for op in operations(data.schema):
        if op.content_type != "application/json":
            continue
        body_schema = maker.body_schema(op) or {}
        base = maker.for_op(op)
        if not isinstance(base, dict):
            continue
        props = set(body_schema.get("properties", {}))
        url = op.url(_values_for(op, data.a)) if op.path_params else op.path
        extras: list[tuple[str, Any]] = [(UNKNOWN, 1)]
        for f in READ_ONLY:
            if f in props:
                if not (f == "id" and op.op_id in CLIENT_ID_OPS):
                    failures.append(f"{op}: read-only field {f!r} is writable")
                continue
            extras.append((f, str(uuid.uuid4()) if f.endswith("id") else "2020-01-01T00:00:00Z"))
        for f, v in extras:
            r = await client.request(op.method, url, headers=admin.headers, json={**base, f: v})
            checked += 1
            fields = [d.get("field") for d in (r.json().get("error", {}).get("details") or [])] if _code(r) else []
            if r.status_code != 422 or f not in fields:
                failures.append(f"{op} with {f!r}: {r.status_code} {r.text[:300]}")
    assert checked > 60
    assert not failures, "\n".join(failures)


def test_role_gated_operations_are_those_the_permission_table_gates_before_any_lookup() -> None:
    """ROLE_GATED above is what the routes' own `require(Perm…)` dependencies say: a permission checked before
    any loader, that some role lacks. Changing a route's permission or the table without the matrix fails here."""
    everyone = frozenset.intersection(*ROLE_PERMISSIONS.values())
    paths = route_paths()
    derived = {
        op_id: gates[0]
        for op_id, gates in route_gates().items()
        if gates and isinstance(gates[0], Perm) and gates[0] not in everyone and "{" in paths[op_id]
    }
    assert derived == ROLE_GATED


def test_every_permission_of_the_table_decides_something() -> None:
    """No permission in the table that no route and no `can(Perm.…)` reads, and every role is in the table."""
    table = ROOT / "app" / "auth" / "permissions.py"
    source = "\n".join(p.read_text() for p in (ROOT / "app").rglob("*.py") if p != table)
    gated = {g for gates in route_gates().values() for g in gates if isinstance(g, Perm)}
    unused = [p for p in Perm if p not in gated and f"Perm.{p.name}" not in source]
    assert not unused, f"permissions nobody checks: {unused}"
    assert set(ROLE_PERMISSIONS) == set(Role)


async def test_every_gated_operation_answers_each_role_as_the_permission_table_says(
    client: AsyncClient, data: Rel
) -> None:
    """Walks the table against every route gated by a permission: each role of A gets a 403 exactly when its
    row in the table lacks the permission (unknown ids and an invalid body, so nothing is changed)."""
    nowhere = _random_values(data.b.params)
    failures: list[str] = []
    checked = 0
    gates = route_gates()
    for op in operations(data.schema):
        perm = next((g for g in gates.get(op.op_id, []) if isinstance(g, Perm)), None)
        if perm is None:
            continue
        loader_first = not isinstance(gates[op.op_id][0], Perm)
        kwargs: dict[str, Any] = {} if op.method == "get" else {"json": {UNKNOWN: 1}}
        for role in ROLES:
            r = await client.request(op.method, op.url(nowhere), headers=data.world.a[role].headers, **kwargs)
            checked += 1
            allowed = role_can(role.rstrip("2"), perm)
            if allowed and r.status_code == 403:
                failures.append(f"{op} as {role}: 403 although the table grants {perm}")
            if not allowed and r.status_code != 403 and not (loader_first and r.status_code == 404):
                failures.append(f"{op} as {role}: {r.status_code} although the table denies {perm}")
    assert checked > 100
    assert not failures, "\n".join(failures)
