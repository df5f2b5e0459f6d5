"""A lint over app/: every query on a tenant table carries the organization scope in the statement itself (an
`organization_id` condition, or one of the scoped builders below), so RLS stays the second wall, not the only one.

ORM `select`/`update`/`delete` of a tenant model and raw `text()` SQL naming a tenant table are checked; a name
used in the statement counts as scoped when the function assigned it from a scoped expression. Raw SQL built in
pieces counts as scoped when a piece it interpolates is (`WHERE {where}` with `where, p = reports_where(…)`, or a
list of SQL conditions that holds the `organization_id` one, joined)."""

from __future__ import annotations

import ast
import re

import app.models  # noqa: F401  (registers every tenant table)
from app.config import ROOT
from app.models.base import TENANT_TABLES, Base

# organizations is scoped by its own id (the tenant itself), not by an organization_id column.
TABLES = set(TENANT_TABLES) - {"organizations"}
MODELS = {m.class_.__name__ for m in Base.registry.mappers if getattr(m.local_table, "name", None) in TABLES}
# Builders whose result starts from the organization scope (visible_to(user) and the filter compilers; the
# actions' visible/workable(actor) conditions; the dashboard's reports_where, whose WHERE starts with the org).
SCOPED_BUILDERS = {
    "visible_to",
    "visible",
    "workable",
    "reports_where",
    "on_action",
    "assigned_contact_ids",
    "led_regions",
    "in_region",
    "compile_filter",
    "resolve",
    "conditions",
}
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)", re.IGNORECASE)
# A piece of SQL that is an organization condition (`t.organization_id = :o`), not just the column's name.
SQL_ORG_CONDITION = re.compile(r"\borganization_id\s*(?:=|IN\b)", re.IGNORECASE)


def _called_name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _is_org(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "organization_id"


def _mentions_scope(node: ast.AST, scoped_names: set[str]) -> bool:
    """A condition on organization_id (`X.organization_id == org`, `X.organization_id.in_(…)`), a scoped
    builder, or a name assigned from one; a bare `org = actor.organization_id` is a value, not a scope."""
    for n in ast.walk(node):
        if isinstance(n, ast.Compare) and any(_is_org(o) for o in (n.left, *n.comparators)):
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and _is_org(n.func.value):
            return True
        if isinstance(n, ast.Call) and _called_name(n) in SCOPED_BUILDERS:
            return True
        if isinstance(n, ast.Name) and n.id in scoped_names:
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and SQL_ORG_CONDITION.search(n.value):
            return True
    return False


def _scoped_names(func: ast.AST) -> set[str]:
    """Names the function assigns from a scoped expression (to a fixpoint: `q = visible_to(u); q2 = q.where()`)."""
    names: set[str] = set()
    assigns = [n for n in ast.walk(func) if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None]
    changed = True
    while changed:
        changed = False
        for a in assigns:
            targets = a.targets if isinstance(a, ast.Assign) else [a.target]
            value = a.value
            assert value is not None
            if _mentions_scope(value, names):
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id not in names:
                            names.add(n.id)
                            changed = True
    return names


def _statement(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST:
    """The whole method chain a select()/update()/delete() call starts (`select(X).where(...).limit(...)`)."""
    cur = node
    while (p := parents.get(cur)) is not None and isinstance(p, ast.Attribute):
        call = parents.get(p)
        if not (isinstance(call, ast.Call) and call.func is p):
            break
        cur = call
    return cur


def _sql_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def unscoped_queries(source: str, where: str = "<source>") -> list[str]:
    tree = ast.parse(source)
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call) or not isinstance(n.func, ast.Name):
            continue
        func: ast.AST = n
        while func in parents and not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            func = parents[func]
        if n.func.id in ("select", "update", "delete"):
            args = n.args[:1] if n.func.id != "select" else n.args
            models = {m.id for a in args for m in ast.walk(a) if isinstance(m, ast.Name) and m.id in MODELS}
            if models and not _mentions_scope(_statement(n, parents), _scoped_names(func)):
                found.append(f"{where}:{n.lineno} {n.func.id}({', '.join(sorted(models))})")
        elif n.func.id == "text" and n.args and (sql := _sql_text(n.args[0])) is not None:
            tables = {t for t in SQL_TABLE.findall(sql) if t in TABLES}
            pieces = (
                [v for v in n.args[0].values if isinstance(v, ast.FormattedValue)]
                if isinstance(n.args[0], ast.JoinedStr)
                else []
            )
            scoped = "organization_id" in sql or any(_mentions_scope(v.value, _scoped_names(func)) for v in pieces)
            if tables and not scoped:
                found.append(f"{where}:{n.lineno} text() on {', '.join(sorted(tables))}")
    return found


def test_every_query_on_a_tenant_table_carries_the_organization_scope() -> None:
    found: list[str] = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        found += unscoped_queries(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "queries without the organization scope:\n" + "\n".join(found)


def test_the_lint_flags_a_query_that_forgets_the_organization() -> None:
    forgetful = """
async def f(session, contact_id, org):
    await session.scalar(select(Contact).where(Contact.id == contact_id))
    await session.execute(update(Team).values(name="x"))
    await session.execute(text("SELECT * FROM action_targets WHERE id = :t"))
"""
    assert len(unscoped_queries(forgetful)) == 3
    value_only = """
async def f(session, actor, city):
    org = actor.organization_id
    await session.scalar(select(Contact).where(Contact.city == city, Contact.import_id == org))
"""
    assert len(unscoped_queries(value_only)) == 1
    scoped = """
async def f(session, contact_id, org, user):
    await session.scalar(select(Contact).where(Contact.organization_id == org, Contact.id == contact_id))
    q = visible_to(user)
    await session.scalar(q.where(Contact.id == contact_id))
    await session.execute(text("SELECT * FROM action_targets WHERE organization_id = :o AND id = :t"))
    await session.scalar(select(User).where(User.id == contact_id))  # users are not a tenant table
"""
    assert unscoped_queries(scoped) == []
    pieces = """
async def f(session, scope, period, action_id, org, ids):
    cond = "t.action_id = :a"
    where = ["t.action_id = :a", "t.status = :s"]
    joined = " AND ".join(where)
    await session.execute(text(f"SELECT count(*) FROM action_targets t WHERE {cond}"))
    await session.execute(text(f"SELECT count(*) FROM action_targets t WHERE {joined}"))
    await session.execute(text(f"SELECT count(*) FROM action_targets t WHERE id = ANY(:ids) {org}"))
    await session.scalar(select(Action).where(Action.id.in_(ids)))
"""
    assert len(unscoped_queries(pieces)) == 4
    scoped_pieces = """
async def f(session, scope, period, action_id, org, actor):
    where, p = reports_where(scope, period, action_id)
    await session.execute(text(f"SELECT count(*) FROM field_reports r WHERE {where}"), p)
    conds = ["t.organization_id = :o", "t.action_id = :a"]
    joined = " AND ".join(conds)
    await session.execute(text(f"SELECT count(*) FROM action_targets t WHERE {joined}"))
    await session.scalar(select(Action).where(visible(actor)))
"""
    assert unscoped_queries(scoped_pieces) == []
