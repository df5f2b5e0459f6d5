"""Prometheus metrics at GET /metrics: requests by route template (never the raw path, so no ids or personal
data end up in labels), their latency, and background jobs. One registry per process: with several web
workers each has its own counters (scrape each, or run one worker per target)."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
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

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def render() -> tuple[bytes, str]:
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
