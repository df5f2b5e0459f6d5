"""Which permission of the table gates each route, read from the routes' own dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api import api_router
from app.auth.dependencies import RequirePermission
from app.auth.permissions import Perm

# Dependencies every authenticated route has, which decide nothing about permissions or objects.
_PLUMBING = {"current_principal", "get_session", "HTTPBearer", "limiter"}


def _routes(router: APIRouter) -> Iterator[APIRoute]:
    for r in router.routes:
        if isinstance(r, APIRoute):
            yield r
        elif isinstance(inner := getattr(r, "original_router", None), APIRouter):
            yield from _routes(inner)


def _gates(dep: Dependant) -> Iterator[Perm | str]:
    """The route's deciding dependencies in the order FastAPI runs them: a Perm, or a loader's name."""
    for d in dep.dependencies:
        if isinstance(d.call, RequirePermission):
            yield d.call.perm
        elif (name := getattr(d.call, "__name__", type(d.call).__name__)) not in _PLUMBING:
            yield name
        yield from _gates(d)


def route_gates() -> dict[str, list[Perm | str]]:
    """operation id → its deciding dependencies, in order."""
    return {r.operation_id: list(_gates(r.dependant)) for r in _routes(api_router) if r.operation_id}


def route_paths() -> dict[str, str]:
    return {r.operation_id: r.path for r in _routes(api_router) if r.operation_id}
