"""create_app(): lifespan, middleware, error handlers, routers, docs served offline, the PWA."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from sqlalchemy import text

from app.api import api_router
from app.auth.cache import PrincipalCache
from app.auth.cache import listen as listen_for_auth_changes
from app.config import Settings, get_settings
from app.core import jobs
from app.core.csp import MAP_ORIGINS
from app.core.db import asyncpg_dsn, make_engine, make_sessionmaker, warm_pool
from app.core.errors import RETRY_AFTER_S, error_body, install_error_handlers
from app.core.heap import freeze_startup_heap
from app.core.logging import configure_logging
from app.core.metrics import MetricsMiddleware, render, sample
from app.core.middleware import RequestContextMiddleware
from app.core.openapi_examples import add_examples
from app.core.ratelimit import RateLimiter
from app.core.replicas import ReadRouter
from app.petitions.public import router as petition_pages
from app.petitions.public import sign_router as petition_signing

log = logging.getLogger("groundgame")
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"

PLACEHOLDER = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>GroundGame</title></head>
<body><main><h1>GroundGame</h1><p>The volunteer app is not built on this server (Node.js missing).
The API is at <a href="/docs">/docs</a>.</p></main></body></html>"""


def make_redis(settings: Settings) -> Redis | None:
    """redis-py's default pool. Its BlockingConnectionPool (which checks connections outside the pool's lock) was
    tried for start call's rate limit and reverted: with Redis stopped, requests took long enough to fail the
    supervised Redis-down drill (tests/faults/test_up_supervised.py). The rate limit now runs before the
    request holds a database connection (app/auth/cache.py), so a slow Redis no longer holds one."""
    if not settings.redis_url:
        return None
    redis: Redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return redis


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: start through `groundgame up` or set it")
        engine = make_engine(settings.database_url, settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.reads = ReadRouter.from_settings(settings)  # hot standbys for lag-tolerant reads, if any
        await app.state.reads.start()
        redis = make_redis(settings)
        app.state.redis = redis
        app.state.limiter = RateLimiter(redis)
        app.state.principal_cache = PrincipalCache(settings.auth.principal_cache_s)
        auth_listener = asyncio.create_task(
            listen_for_auth_changes(app.state.principal_cache, asyncpg_dsn(settings.database_url))
        )
        app.state.arq = None
        app.state.pending_jobs = None
        await warm_pool(engine, settings.db_pool_warm)
        await MAP_ORIGINS.refresh_if_stale(engine)  # the map style origins the first pages' policy allows
        retry = asyncio.create_task(jobs.retry_pending(app.state))
        freeze_startup_heap()  # full GC passes skip the startup heap (app/core/heap.py)
        try:
            yield
        finally:
            retry.cancel()
            auth_listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await auth_listener
            if redis is not None:
                await redis.aclose()
            if app.state.arq is not None:
                await app.state.arq.aclose()
            await app.state.reads.close()
            await engine.dispose()

    app = FastAPI(
        title="GroundGame API",
        version="1.0.0",
        description="Open-source organizing CRM: contacts with consent, zones, actions, calling and canvassing.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    _document(app)
    install_error_handlers(app)
    app.include_router(petition_signing)  # first: see app.petitions.public.sign_router
    app.include_router(api_router)
    app.include_router(petition_pages)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.limits.max_body_bytes,
        max_upload_bytes=settings.limits.max_upload_bytes,
        hsts=settings.environment == "production",
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(MetricsMiddleware)
    _mount_system(app)
    _mount_pwa(app, settings)
    return app


def _document(app: FastAPI) -> None:
    """The OpenAPI document with an example on every operation (app/core/openapi_examples.py)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_examples(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_system(app: FastAPI) -> None:
    app.mount("/static/docs", StaticFiles(directory=DOCS_STATIC), name="docs-static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = app.state.settings.metrics_token.get_secret_value()
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse(error_body("unauthorized", "Metrics need their token."), status_code=401)
        elif (request.client.host if request.client else "") not in ("127.0.0.1", "::1"):
            return JSONResponse(error_body("not_found", "Not found."), status_code=404)
        await sample(request.app.state)
        body, content_type = render()
        return Response(body, media_type=content_type)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_root() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="GroundGame API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/api/v1/openapi.json",
            title="GroundGame API",
            redoc_js_url="/static/docs/redoc.standalone.js",
            redoc_favicon_url="/static/docs/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/api/v1/config", tags=["system"], operation_id="system-config")
    async def public_config(request: Request) -> dict[str, str]:
        """What the PWA needs before login: the map tile URL (a setting) and its attribution."""
        s: Settings = app.state.settings
        ip = request.client.host if request.client else "?"
        await app.state.limiter.check(f"public:{ip}", limit=s.limits.public_requests_per_minute * 4)
        return {"map_tile_url": s.map_tile_url, "map_attribution": s.map_attribution}

    @app.get("/healthz", tags=["system"], operation_id="system-healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["system"], operation_id="system-readyz", responses={503: {}})
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception:
            checks["database"] = "unavailable"
        redis: Redis | None = request.app.state.redis
        try:
            if redis is None:
                raise RuntimeError("no redis configured")
            await redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unavailable"
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        body = error_body(
            "not_ready", "A backing service is unavailable.", [{"field": k, "message": v} for k, v in checks.items()]
        )
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def _mount_pwa(app: FastAPI, settings: Settings) -> None:
    dist = settings.pwa_dist
    index = dist / "index.html"
    hq_index = dist / "hq" / "index.html"

    @app.get("/", include_in_schema=False)
    async def pwa_index() -> Response:
        if index.exists():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(PLACEHOLDER)

    @app.get("/{path:path}", include_in_schema=False)
    async def pwa_files(path: str) -> Response:
        if path.startswith(("api/", "static/docs")):
            return JSONResponse(error_body("not_found", "Not found."), status_code=404)
        if dist.exists():
            candidate = (dist / path).resolve()
            if candidate.is_file() and dist.resolve() in candidate.parents:
                # Only Vite's content-hashed assets are immutable; the service worker, manifest and icons are not.
                hashed = path.startswith(("assets/", "hq/assets/"))
                cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
                return FileResponse(candidate, headers={"Cache-Control": cache})
            if "." not in path.rsplit("/", 1)[-1]:
                # SPA routes: the HQ console (dist/hq/) owns /hq and everything under it, the volunteer app the rest.
                spa = hq_index if path == "hq" or path.startswith("hq/") else index
                if spa.exists():
                    return FileResponse(spa, headers={"Cache-Control": "no-cache"})
        return JSONResponse(error_body("not_found", "Not found."), status_code=404)
