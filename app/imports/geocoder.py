"""Geocoding adapter: a Nominatim-compatible HTTP API through httpx, off by default (GEOCODER_URL empty).
After an import, contacts with an address but no coordinates get a point; failures leave them as they are.
Bounded concurrency and a polite rate (public Nominatim allows one request per second)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import set_tenant

log = logging.getLogger("groundgame.geocoder")


@dataclass(frozen=True)
class Address:
    contact_id: uuid.UUID
    street: str | None
    number: str | None
    postal_code: str | None
    city: str | None
    country: str | None


class NominatimGeocoder:
    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        per_second: float = 1.0,
        user_agent: str = "GroundGame (self-hosted organizing CRM)",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=10, headers={"User-Agent": user_agent})
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._lock = asyncio.Lock()
        self._last = 0.0

    async def geocode(self, a: Address) -> tuple[float, float] | None:
        params = {"format": "jsonv2", "limit": "1", "addressdetails": "0"}
        street = " ".join(x for x in (a.number, a.street) if x)
        if street:
            params["street"] = street
        if a.city:
            params["city"] = a.city
        if a.postal_code:
            params["postalcode"] = a.postal_code
        if a.country:
            params["countrycodes"] = a.country.lower()
        async with self._lock:  # one request at a time, spaced by the allowed rate
            loop = asyncio.get_running_loop()
            wait = self._last + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = loop.time()
            try:
                r = await self.client.get(f"{self.base_url}/search", params=params)
            except httpx.HTTPError:
                log.warning("geocoder unreachable")
                return None
        if r.status_code != 200:
            return None
        try:
            hits = r.json()
            lat, lon = float(hits[0]["lat"]), float(hits[0]["lon"])
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return lon, lat

    async def aclose(self) -> None:
        await self.client.aclose()


async def geocode_import(
    engine: AsyncEngine, geocoder: NominatimGeocoder, organization_id: str, import_id: str, *, limit: int = 10_000
) -> int:
    """Locate the import's contacts that have an address and no point. Returns how many were located."""
    async with engine.begin() as conn:
        await set_tenant(conn, organization_id)
        rows = (
            await conn.execute(
                text("""
            SELECT id, street, street_number, postal_code, city, country FROM contacts
            WHERE organization_id = :o AND import_id = :i AND location IS NULL
              AND (street IS NOT NULL OR postal_code IS NOT NULL) AND city IS NOT NULL
            LIMIT :n"""),
                {"o": organization_id, "i": import_id, "n": limit},
            )
        ).all()
    found: list[tuple[uuid.UUID, float, float]] = []
    for r in rows:
        hit = await geocoder.geocode(Address(r.id, r.street, r.street_number, r.postal_code, r.city, r.country))
        if hit:
            found.append((r.id, hit[0], hit[1]))
    if found:
        async with engine.begin() as conn:
            await set_tenant(conn, organization_id)
            await conn.execute(
                text("""
                UPDATE contacts c SET location = ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)
                FROM unnest(CAST(:ids AS uuid[]), CAST(:lons AS float8[]), CAST(:lats AS float8[])) AS u(id, lon, lat)
                WHERE c.organization_id = :o AND c.id = u.id AND c.location IS NULL"""),
                {
                    "o": organization_id,
                    "ids": [f[0] for f in found],
                    "lons": [f[1] for f in found],
                    "lats": [f[2] for f in found],
                },
            )
    log.info("geocoded contacts", extra={"job": "geocode"})
    return len(found)
