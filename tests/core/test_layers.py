"""The layering rules of docs/architecture.md, read from the source: routers translate HTTP (no SQL, no other
router), services do not know the API's URLs, and no two packages import each other."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from app.config import ROOT

APP = ROOT / "app"


def _imports(path: Path) -> list[str]:
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_routers_hold_no_sql_and_import_no_other_router() -> None:
    failures = []
    for router in sorted(APP.glob("*/router.py")):
        for name in _imports(router):
            if name.startswith("sqlalchemy"):
                failures.append(f"{router.relative_to(ROOT)} imports {name}: SQL belongs in the service")
            if name.endswith(".router") and name.startswith("app."):
                failures.append(f"{router.relative_to(ROOT)} imports {name}: share a dependencies module instead")
    assert not failures, "\n".join(failures)


def test_no_two_packages_of_the_app_import_each_other() -> None:
    edges: defaultdict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1 and parts[1] != _package(path):
                edges[_package(path)].add(parts[1])
    mutual = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, set())})
    assert not mutual


def test_only_routers_and_the_paths_module_write_api_urls() -> None:
    url = re.compile(r"[\"']/api/v1/")
    failures = [
        str(p.relative_to(ROOT))
        for p in APP.rglob("*.py")
        if url.search(p.read_text())
        and p.name != "router.py"
        and p.relative_to(APP).as_posix() != "core/paths.py"
        and p.relative_to(APP).as_posix() not in ("main.py",)
    ]
    assert not failures
