"""Prometheus metrics at GET /metrics: requests by route template (never the raw path, so no ids or personal
data end up in labels), their latency, background jobs (queue depth, durations, failures), the database pool,
SSE connections, webhook attempts and messages sent per channel.

Several processes (uvicorn workers, the arq worker) share one view through prometheus-client's multiprocess
mode: `groundgame up` sets PROMETHEUS_MULTIPROC_DIR to a directory under the data dir, emptied at each start
(`prepare_multiprocess_dir`), before any child imports this module; a scrape of any web worker then reads every
process's values. Without it (tests, a single process) the values are this process's own."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "groundgame_http_requests",
    "HTTP requests by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "groundgame_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
JOBS_ENQUEUED = Counter(
    "groundgame_jobs_enqueued", "Jobs enqueued by the API, by function.", ["function"], registry=REGISTRY
)
WEBHOOK_ATTEMPTS = Counter(
    "groundgame_webhook_attempts", "Webhook delivery attempts by result.", ["result"], registry=REGISTRY
)

JOB_DURATION = Histogram(
    "groundgame_job_duration_seconds",
    "Background job run time by function and result (ok, retry, error).",
    ["function", "result"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600),
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "groundgame_job_failures", "Background jobs that raised, by function.", ["function"], registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "groundgame_job_queue_depth", "Jobs waiting in the arq queue.", registry=REGISTRY, multiprocess_mode="mostrecent"
)
DB_POOL = Gauge(
    "groundgame_db_pool_connections",
    "Database pool connections of each web process, by state (checked_out, idle, overflow).",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="liveall",
)
SSE_CONNECTIONS = Gauge(
    "groundgame_sse_connections", "Open live-event streams.", registry=REGISTRY, multiprocess_mode="livesum"
)
MESSAGES_SENT = Counter(
    "groundgame_messages_sent", "Messages handed to the provider, by channel.", ["channel"], registry=REGISTRY
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
T = TypeVar("T")
P = ParamSpec("P")


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """An empty directory for this run's metric files (a dead run's files would add stale values)."""
    d = data_dir / "prometheus"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True, exist_ok=True)
    return d


def timed_job(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """An arq job whose run time and failures are measured (the name arq registers is unchanged)."""
    name = fn.__name__

    @wraps(fn)
    async def run(*args: P.args, **kw: P.kwargs) -> T:
        start = time.perf_counter()
        result = "ok"
        try:
            return await fn(*args, **kw)
        except Exception as e:
            result = "retry" if type(e).__name__ == "Retry" else "error"
            if result == "error":
                JOB_FAILURES.labels(name).inc()
            raise
        finally:
            JOB_DURATION.labels(name, result).observe(time.perf_counter() - start)

    return run


def sample_pool(engine: Any) -> None:
    pool = engine.pool
    try:
        DB_POOL.labels("checked_out").set(pool.checkedout())
        DB_POOL.labels("idle").set(pool.checkedin())
        DB_POOL.labels("overflow").set(max(0, pool.overflow()))
    except AttributeError:  # a pool without counters (NullPool)
        pass


async def sample(state: Any) -> None:
    """Values read at scrape time: this process's pool, the queue's depth (Redis down: left as it was)."""
    engine = getattr(state, "engine", None)
    if engine is not None:
        sample_pool(engine)
    redis = getattr(state, "redis", None)
    if redis is not None:
        with contextlib.suppress(Exception):  # a scrape never fails for Redis
            QUEUE_DEPTH.set(await redis.zcard("arq:queue"))


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def render() -> tuple[bytes, str]:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The matched route's template under its full prefix (API_PREFIX + "/contacts/{contact_id}"): the router gives
    the route as declared in its own router, so the prefix is taken from the raw path's leading segments."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    if ":path}" in template:
        return str(template)
    raw = scope["path"].rstrip("/").split("/")
    depth = len(template.rstrip("/").split("/")) - 1
    prefix = "/".join(raw[: len(raw) - depth]) if depth else scope["path"].rstrip("/")
    return str((prefix.rstrip("/") + template) if prefix else template)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - start)
