"""Routers are tried in the order app/api.py includes them (the calling router first: its three hot routes are
then matched after a handful of candidates instead of a hundred). That order must never decide which handler
serves a path: every route is the first one to match its own path and method."""

from __future__ import annotations

import re
from typing import Any

from app.main import create_app

SAMPLE = "0196a1b2-0000-7000-8000-000000000001"


def _contexts() -> list[Any]:
    app = create_app()
    out: list[Any] = []
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):
            out.extend(r.effective_route_contexts())
    return [c for c in out if getattr(c, "methods", None)]


def _concrete(path_format: str) -> str:
    return re.sub(r"\{[^}]+\}", SAMPLE, path_format)


def test_every_route_is_the_first_to_match_its_own_path() -> None:
    routes = _contexts()
    assert len(routes) > 100
    shadowed = []
    for route in routes:
        path = _concrete(route.path_format)
        for method in route.methods:
            first = next(r for r in routes if method in r.methods and r.path_regex.match(path))
            if first is not route:
                shadowed.append(f"{method} {route.path_format} is served by {first.path_format}")
    assert shadowed == []


def test_the_calling_hot_routes_come_first() -> None:
    paths = [c.path_format for c in _contexts()][:12]
    assert "/api/v1/actions/{action_id}/calls/next" in paths
    assert "/api/v1/calls/{target_id}/report" in paths
