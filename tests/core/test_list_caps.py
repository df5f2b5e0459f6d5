"""No list hides rows behind a hard cap: generated over the app's OpenAPI and over the query code in app/.

A list operation (a GET answering a JSON array, or an object with `items`) either pages with a cursor
(`cursor` in, `next_cursor` out), or is named below as returned whole with the reason it stays small.
A `limit` parameter without a cursor is a cap. A constant LIMIT in a query (other than LIMIT 1, "the one
row") is a cap unless the line says why it is not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app

APP = Path(__file__).resolve().parents[2] / "app"

# Returned whole (no cap, no cursor), each for a reason. A new list is paged, or added here with its reason.
WHOLE: dict[str, str] = {
    "users-list": "the organization's members, returned whole (no cap); the people an HQ assigns from",
    "invitations-list": "pending invitations only; they expire",
    "teams-list": "teams an HQ creates by hand (tens)",
    "contacts-consents-list": "one contact's consent log: a few entries per channel",
    "tags-list": "the organization's tag vocabulary, aggregated (one row per distinct tag)",
    "custom-fields-list": "field definitions an admin creates by hand",
    "segments-list": "saved segments an HQ creates by hand",
    "surveys-list": "surveys an HQ builds by hand",
    "opportunity-types-list": "types an admin creates by hand",
    "opportunities-comments-list": "the comments on one task",
    "messaging-templates-list": "templates an HQ writes by hand",
    "messaging-campaigns-list": "campaigns an HQ sends by hand",
    "api-keys-list": "keys an admin creates by hand",
    "webhooks-event-types": "a constant list in the code",
    "webhooks-list": "endpoints an admin registers by hand",
    "contacts-duplicates": "one contact's likely duplicates (same phone, email, or name and address)",
    "petitions-list": "petitions an HQ writes by hand",
    "reports-mine": "one volunteer's own reports on one action within the correction window (24 h)",
}


def _schema() -> dict[str, Any]:
    return create_app().openapi()


def _resolve(spec: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in s:
        s = spec["components"]["schemas"][s["$ref"].rsplit("/", 1)[-1]]
    return s


def _list_operations() -> list[tuple[str, list[str], dict[str, Any]]]:
    spec = _schema()
    out = []
    for ops in spec["paths"].values():
        op = ops.get("get")
        if not op:
            continue
        body = op["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
        params = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        out.append((op["operationId"], params, _resolve(spec, body) if body else {}))
    return out


OPS = _list_operations()


@pytest.mark.parametrize(("op_id", "params", "body"), OPS, ids=[o[0] for o in OPS])
def test_every_list_pages_with_a_cursor_or_is_named_as_whole(
    op_id: str, params: list[str], body: dict[str, Any]
) -> None:
    props = body.get("properties", {})
    paged = body.get("type") == "object" and props.get("items", {}).get("type") == "array"
    if "limit" in params:
        assert "cursor" in params, f"{op_id}: a limit without a cursor hides the rows past it"
    if body.get("type") == "array":
        assert op_id in WHOLE, f"{op_id} answers a bare array: page it (core/pagination) or say why it stays small"
    elif paged and op_id not in WHOLE:
        assert "cursor" in params and "next_cursor" in props, f"{op_id}: a list of items without a cursor"


def test_the_whole_lists_named_still_exist() -> None:
    arrays = {op for op, _, body in OPS if body.get("type") == "array"}
    assert set(WHOLE) <= arrays, set(WHOLE) - arrays


CONSTANT_SQL_LIMIT = re.compile(r"\bLIMIT\s+(\d+)\b", re.IGNORECASE)


def _caps_in(path: Path) -> list[str]:
    found: list[str] = []
    where = path.relative_to(APP.parent) if path.is_relative_to(APP.parent) else path
    src = path.read_text()
    tree = ast.parse(src)
    lines = src.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "limit":
            arg = node.args[0] if node.args else None
            # const(1) and 1 both mean "the one row"
            if isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "const" and arg.args:
                arg = arg.args[0]
            if isinstance(arg, ast.Constant) and arg.value != 1:
                found.append(f"{where}:{node.lineno}: .limit({arg.value!r})")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in CONSTANT_SQL_LIMIT.finditer(node.value):
                line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
                if m.group(1) != "1" and "not a cap" not in line:
                    found.append(f"{where}:{node.lineno}: LIMIT {m.group(1)}")
    return found


def test_no_query_in_app_caps_rows_with_a_constant_limit() -> None:
    caps = [c for p in sorted(APP.rglob("*.py")) for c in _caps_in(p)]
    assert caps == [], "constant limits hide rows: page with a cursor instead\n" + "\n".join(caps)


def test_the_lint_sees_a_cap(tmp_path: Path) -> None:
    """The lint itself: a constant .limit() and a LIMIT 500 in SQL are found; LIMIT 1 is not."""
    probe = tmp_path / "probe.py"
    probe.write_text('q = select(x).limit(500)\nsql = "SELECT * FROM zones LIMIT 500"\none = "SELECT 1 LIMIT 1"\n')
    assert len(_caps_in(probe)) == 2
