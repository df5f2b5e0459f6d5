"""No request hops to the thread pool: FastAPI runs a plain `def` dependency or endpoint in a worker thread (a
hand-off to another thread and back per call, which waits for the GIL behind the event loop under load: measured
on the calling hot path, where `next` and `start` each made one). Every dependency and endpoint of the API is a
coroutine (or an async generator)."""

from __future__ import annotations

import inspect
from typing import Any

from tests.core.test_route_order import _contexts


def _runs_on_loop(call: Any) -> bool:
    if inspect.isclass(call):
        return False  # its constructor is run in the pool
    fn = call if inspect.isroutine(call) else type(call).__call__  # an instance: its __call__
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


def _sync_calls(dependant: Any, seen: set[int]) -> list[str]:
    out = []
    for sub in dependant.dependencies:
        if sub.call is not None and id(sub.call) not in seen:
            seen.add(id(sub.call))
            if not _runs_on_loop(sub.call):
                out.append(getattr(sub.call, "__qualname__", repr(sub.call)))
        out += _sync_calls(sub, seen)
    return out


def test_no_dependency_or_endpoint_of_the_api_runs_in_the_thread_pool() -> None:
    found: dict[str, set[str]] = {}
    for route in _contexts():
        if not route.path_format.startswith("/api/"):
            continue
        names = _sync_calls(route.dependant, set())
        if route.dependant.call is not None and not _runs_on_loop(route.dependant.call):
            names.append(f"endpoint {route.dependant.call.__qualname__}")
        for n in names:
            found.setdefault(n, set()).add(f"{sorted(route.methods)[0]} {route.path_format}")
    assert {k: sorted(v)[:3] for k, v in found.items()} == {}


def test_the_calling_hot_routes_have_dependencies_at_all() -> None:
    """The walk above sees the hot routes' dependencies (so an empty result is not a walk that saw nothing)."""
    (nxt,) = [r for r in _contexts() if r.path_format == "/api/v1/actions/{action_id}/calls/next"]
    calls = set()

    def walk(d: Any) -> None:
        for s in d.dependencies:
            calls.add(getattr(s.call, "__qualname__", type(s.call).__name__))
            walk(s)

    walk(nxt.dependant)
    assert "_call_action" in calls and "get_session" in calls
