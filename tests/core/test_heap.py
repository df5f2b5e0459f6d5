"""A started web process keeps its startup heap (routes, models, the modules: ~300k objects) out of the garbage
collector's full passes, which otherwise walk all of it (120-280 ms of stopped event loop, measured under
uvicorn), app/core/heap.py."""

from __future__ import annotations

import gc
from typing import Any

from app.core.heap import freeze_startup_heap


def _tracked(obj: object) -> bool:
    """Whether a collection still walks `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


async def test_a_started_app_is_out_of_the_collectors_full_passes(app: Any) -> None:
    assert gc.get_freeze_count() > 100_000
    assert not _tracked(app.router)  # built before startup: frozen
    assert not _tracked(app.state.sessionmaker)  # built during startup, before the freeze


def test_the_heap_is_frozen_once_per_process_and_new_objects_are_still_collected(app: Any) -> None:
    before = gc.get_freeze_count()
    assert freeze_startup_heap() == before  # a second app in the process (as in the tests) does not freeze again
    made_after = {"x": [1, 2, 3]}
    assert _tracked(made_after)
