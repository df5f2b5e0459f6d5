"""Templates rendered by a sandboxed Jinja2: the only name is `contact`, a plain dict of the contact's public
fields; any other name, attribute (`contact.__class__`, `''.__class__`) or unknown field is refused when the
template is saved or previewed (a 422 naming the template's field and line), and the sandbox refuses it again
at render time. HTML is autoescaped; subjects and texts are not HTML and are rendered as they are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.core.errors import Unprocessable

# The merge fields: what a contact may see of themselves in a message (no phone, email or notes).
PUBLIC_FIELDS = ("first_name", "last_name", "city", "street", "postal_code", "country", "language")
ROOT = "contact"

_html = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_plain = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def _fail(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"Template error in {field}: {message}", details=[{"field": field, "message": message}])


def _check_names(ast: nodes.Template, field: str) -> None:
    """Only `contact.<public field>` (or `contact['<public field>']`); no other name, no other attribute."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(getattr(node, "arg", None), "value", None)
        if not (isinstance(target, nodes.Name) and target.name == ROOT and key in PUBLIC_FIELDS):
            raise _fail(field, f"line {node.lineno}: unknown merge field {key!r}")
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name != ROOT and name.name not in assigned:
            raise _fail(field, f"line {name.lineno}: unknown merge field {name.name!r}")


@dataclass(frozen=True)
class Compiled:
    """A template's parts, compiled once (a campaign renders them for every recipient)."""

    parts: dict[str, Any]

    def render(self, contact: Mapping[str, str]) -> dict[str, str]:
        ctx = {ROOT: {k: contact.get(k) or "" for k in PUBLIC_FIELDS}}
        out: dict[str, str] = {}
        for field, tpl in self.parts.items():
            try:
                out[field] = tpl.render(ctx)
            except (SecurityError, UndefinedError) as e:
                raise _fail(field, str(e)) from e
        return out


def compile_parts(parts: Mapping[str, str], *, html_fields: frozenset[str] = frozenset({"body_html"})) -> Compiled:
    """Parse and check every part (syntax errors name the line); raise a 422 naming the field."""
    compiled: dict[str, Any] = {}
    for field, source in parts.items():
        env = _html if field in html_fields else _plain
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as e:
            raise _fail(field, f"line {e.lineno}: {e.message}") from e
        _check_names(ast, field)
        compiled[field] = env.from_string(source)
    return Compiled(compiled)


def contact_fields(row: Any) -> dict[str, str]:
    """The merge fields of a contact row (ORM object or result row), as a plain dict of strings."""
    return {k: str(getattr(row, k) or "") for k in PUBLIC_FIELDS}
