"""The Content-Security-Policy, and the one outside origin it may open: an organization's map style.

A basemap comes from elsewhere (its style JSON, then the tiles, glyphs and sprites it names, all fetched by
MapLibre, so `connect-src`). The policy is sent with the page before anyone signs in, so it cannot depend on
who is asking: it allows the origins of the style URLs the organizations set, and none when none is set. The
list is held in memory, set again when an organization changes its style (after the commit) and re-read from
the database at most once a minute on a page load (several server processes learn each other's changes)."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

log = logging.getLogger("groundgame.csp")

REFRESH_S = 60.0
_URLS = text("SELECT url FROM gg_map_style_urls()")


def _policy(extra: str) -> str:
    return (
        "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self'; connect-src 'self'{extra}; worker-src 'self'; manifest-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


# Swagger UI and ReDoc need inline scripts and workers from blob:.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'"
)


def style_url_problem(url: str) -> str | None:
    """Why a map style URL is refused (None: accepted). An https URL with a host, no credentials, no spaces."""
    if any(ch.isspace() for ch in url) or any(ch in url for ch in "'\";,"):
        return "must not contain spaces, quotes, commas or semicolons"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    return None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"https://{parts.netloc.lower()}"


class MapOrigins:
    """The origins the policy opens to, with when they were last read."""

    def __init__(self) -> None:
        self.origins: frozenset[str] = frozenset()
        self.read_at = float("-inf")
        self._policy = _policy("")
        self._lock = asyncio.Lock()

    @property
    def policy(self) -> str:
        return self._policy

    def set(self, urls: list[str]) -> None:
        self.origins = frozenset(origin_of(u) for u in urls if style_url_problem(u) is None)
        self._policy = _policy("".join(f" {o}" for o in sorted(self.origins)))
        self.read_at = time.monotonic()

    async def urls(self, db: AsyncSession | AsyncConnection) -> list[str]:
        return [str(u) for u in (await db.scalars(_URLS)).all()]

    async def refresh_if_stale(self, engine: AsyncEngine | None) -> None:
        if engine is None or time.monotonic() - self.read_at < REFRESH_S or self._lock.locked():
            return
        async with self._lock:
            try:
                async with engine.connect() as conn:
                    self.set(await self.urls(conn))
            except Exception:  # the page is served with the policy it had; the next load tries again
                self.read_at = time.monotonic()
                log.warning("map style origins could not be read", exc_info=True)


MAP_ORIGINS = MapOrigins()
