"""Walks the app's own OpenAPI schema: the operations, their path parameters, and a minimal valid body for each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

METHODS = ("get", "put", "post", "patch", "delete")
# the order we call things in: reads first, destructive last
ORDER = {"get": 0, "put": 1, "patch": 1, "post": 1, "delete": 2}


@dataclass
class Operation:
    method: str
    path: str
    op_id: str
    spec: dict[str, Any]

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p.get("in") == "path"]

    @property
    def content_type(self) -> str | None:
        content = (self.spec.get("requestBody") or {}).get("content") or {}
        return next(iter(content), None)

    @property
    def destructive(self) -> bool:
        return self.method == "delete" or self.op_id.endswith(("erase", "merge", "cancel"))

    def url(self, values: dict[str, str]) -> str:
        return self.path.format(**{p: values[p] for p in self.path_params})

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.op_id})"


def operations(schema: dict[str, Any]) -> list[Operation]:
    ops = [
        Operation(m, path, spec.get("operationId") or f"{m} {path}", spec)
        for path, item in schema["paths"].items()
        for m, spec in item.items()
        if m in METHODS
    ]
    return sorted(ops, key=lambda o: (o.destructive, ORDER[o.method], o.path))


# Bodies the generic generator cannot make valid (a discriminated union whose first branch needs options).
SURVEY = {"title": "T", "questions": [{"id": "q1", "kind": "yes_no", "label": "Q?"}]}
BODY_OVERRIDES: dict[str, Any] = {"surveys-create": SURVEY, "surveys-replace": SURVEY}


class BodyMaker:
    """A minimal instance of a request body schema: required properties only, the first enum value, the first
    non-null branch of a union, the first documented example where the schema has one."""

    def __init__(self, schema: dict[str, Any], ids: dict[str, str] | None = None) -> None:
        self.components = schema.get("components", {}).get("schemas", {})
        self.ids = ids or {}

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = self.components[s["$ref"].rsplit("/", 1)[-1]]
        return s

    def body_schema(self, op: Operation) -> dict[str, Any] | None:
        ct = op.content_type
        if ct is None:
            return None
        return self.resolve(op.spec["requestBody"]["content"][ct]["schema"])

    def for_op(self, op: Operation) -> Any:
        if op.op_id in BODY_OVERRIDES:
            return BODY_OVERRIDES[op.op_id]
        s = self.body_schema(op)
        if s is None:
            return None
        if s.get("examples"):
            return s["examples"][0]
        return self.make(s, "body")

    def request_kwargs(self, op: Operation) -> dict[str, Any]:
        """httpx keyword arguments carrying a minimal valid body (JSON, or a small file for multipart)."""
        ct = op.content_type
        if ct is None:
            return {}
        if ct == "application/json":
            return {"json": self.for_op(op)}
        s = self.body_schema(op) or {}
        files, data = {}, {}
        for k in s.get("required", []):
            prop = self.resolve(s["properties"][k])
            if prop.get("format") == "binary" or prop.get("contentMediaType") or k == "file":
                files[k] = ("a.pdf", b"%PDF-1.4 x", "application/pdf")
            else:
                data[k] = "{}"
        return {"files": files, "data": data}

    def make(self, s: dict[str, Any], name: str) -> Any:
        s = self.resolve(s)
        if "const" in s:
            return s["const"]
        if "enum" in s:
            return s["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in s:
                branches = [self.resolve(b) for b in s[key]]
                non_null = [b for b in branches if b.get("type") != "null"] or branches
                return self.make(non_null[0], name)
        if "allOf" in s:
            return self.make(s["allOf"][0], name)
        t = s.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if t == "object" or "properties" in s:
            return {k: self.make(v, k) for k, v in s.get("properties", {}).items() if k in set(s.get("required", []))}
        if t == "array":
            return [self.make(s.get("items", {}), name) for _ in range(s.get("minItems", 0))]
        if t == "string":
            fmt = s.get("format")
            if fmt == "uuid":
                return self.ids.get(name) or self.ids.get(name.removesuffix("s")) or str(uuid.uuid4())
            if fmt == "email":
                return "someone@example.org"
            if fmt == "date-time":
                return datetime.now(UTC).isoformat()
            if fmt == "date":
                return "2000-01-01"
            if fmt == "binary" or s.get("contentMediaType"):
                return "x"
            if s.get("examples"):
                return s["examples"][0]
            return "x" * max(1, s.get("minLength", 1))
        if t == "integer":
            return int(s.get("minimum", s.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in s else 1))
        if t == "number":
            return float(s.get("minimum", 0))
        if t == "boolean":
            return False
        if t == "null":
            return None
        return {}


@dataclass(frozen=True)
class IdField:
    """An id a request carries: `where` is "body" or "query"; `path` its property names from the body's root,
    "*" for a list's item; `many` when the property is itself a list of ids."""

    where: str
    path: tuple[str, ...]
    many: bool

    @property
    def name(self) -> str:
        """The field as the error shape names it for the first item: `opportunities.0.assignee_user_id`."""
        return ".".join("0" if p == "*" else p for p in self.path) + (".0" if self.many else "")


def _is_uuid(s: dict[str, Any], resolve: Any) -> bool:
    s = resolve(s)
    return s.get("format") == "uuid" or any(resolve(b).get("format") == "uuid" for b in s.get("anyOf", []))


def _uuid_list(s: dict[str, Any], resolve: Any) -> bool:
    s = resolve(s)
    branches = [resolve(b) for b in s.get("anyOf", [])] or [s]
    return any(b.get("type") == "array" and _is_uuid(b.get("items", {}), resolve) for b in branches)


def id_fields(schema: dict[str, Any], op: Operation) -> list[IdField]:
    """Every uuid the operation takes in its query string or JSON body, however deep (lists and nested objects)."""
    maker = BodyMaker(schema)
    out = [
        IdField("query", (p["name"],), _uuid_list(p.get("schema", {}), maker.resolve))
        for p in op.spec.get("parameters", [])
        if p.get("in") == "query"
        and (_is_uuid(p.get("schema", {}), maker.resolve) or _uuid_list(p.get("schema", {}), maker.resolve))
    ]

    def walk(s: dict[str, Any], path: tuple[str, ...], seen: frozenset[str]) -> None:
        if "$ref" in s:
            ref = s["$ref"].rsplit("/", 1)[-1]
            if ref in seen:
                return
            seen = seen | {ref}
        s = maker.resolve(s)
        for key in ("anyOf", "oneOf", "allOf"):
            for b in s.get(key, []):
                walk(b, path, seen)
        if s.get("type") == "array" and "items" in s:
            walk(s["items"], (*path, "*"), seen)
        for name, prop in s.get("properties", {}).items():
            if _is_uuid(prop, maker.resolve) or _uuid_list(prop, maker.resolve):
                out.append(IdField("body", (*path, name), _uuid_list(prop, maker.resolve)))
            else:
                walk(prop, (*path, name), seen)

    if op.content_type == "application/json":
        walk(op.spec["requestBody"]["content"]["application/json"]["schema"], (), frozenset())
    return out
