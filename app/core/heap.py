"""The web process's startup heap kept out of the garbage collector's full passes.

A web worker starts with ~300k long-lived objects (routes, pydantic and SQLAlchemy models, the OpenAPI pieces,
imported modules). CPython's full (generation 2) collection walks every one of them: measured 120-280 ms per pass
on the bench machine, a stop of the whole worker's event loop that hits every request in flight or arriving then,
about once every 30 s per worker at 4 steps/s each, which alone made the calling p99 (measured by
bench/wl_calling.py under uvicorn). `gc.freeze()` after startup moves what is alive to the permanent generation:
later collections walk only what was allocated since, and reference counting frees garbage as before."""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> int:
    """Collect once, then freeze what survives; once per process (a second app in the same process, as in the
    tests, does not freeze again). Returns how many objects are frozen."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    return gc.get_freeze_count()
