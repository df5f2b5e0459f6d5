"""The geocoder adapter against a local server that speaks Nominatim's /search protocol."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.imports.geocoder import NominatimGeocoder, geocode_import
from tests.fixtures.factories import make_org

KNOWN = {("12 Strada Lipscani", "București"): (26.1, 44.43)}


class _Nominatim(BaseHTTPRequestHandler):
    calls: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        q = parse_qs(urlparse(self.path).query)
        type(self).calls.append(q)
        hit = KNOWN.get((q.get("street", [""])[0], q.get("city", [""])[0]))
        body = json.dumps([{"lat": str(hit[1]), "lon": str(hit[0]), "display_name": "x"}] if hit else []).encode()
        self.send_response(200 if urlparse(self.path).path == "/search" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def nominatim() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nominatim)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_imported_addresses_get_points_from_a_nominatim_compatible_api(
    nominatim: str, live_db: AsyncSession, engine: AsyncEngine
) -> None:
    org = await make_org(live_db)
    iid = uuid.uuid4()
    await live_db.execute(
        text("""
        INSERT INTO imports (organization_id, id, filename, file_path, size_bytes, encoding, delimiter, mapping,
                             status) VALUES (:o, :i, 'f.csv', '/dev/null', 1, 'utf-8', ',', '{}', 'done')"""),
        {"o": org.id, "i": iid},
    )
    await live_db.execute(
        text("""
        INSERT INTO contacts (organization_id, id, first_name, street, street_number, city, country, import_id)
        VALUES (:o, gen_random_uuid(), 'Known', 'Strada Lipscani', '12', 'București', 'RO', :i),
               (:o, gen_random_uuid(), 'Unknown', 'Nowhere', '1', 'București', 'RO', :i)"""),
        {"o": org.id, "i": iid},
    )
    await live_db.commit()
    geocoder = NominatimGeocoder(nominatim, per_second=50)
    try:
        n = await geocode_import(engine, geocoder, str(org.id), str(iid))
    finally:
        await geocoder.aclose()
    assert n == 1
    assert _Nominatim.calls[-1]["format"] == ["jsonv2"]
    assert _Nominatim.calls[-1]["countrycodes"] == ["ro"]
    await set_tenant(live_db, org.id)
    rows: dict[str, str | None] = dict(
        (
            await live_db.execute(
                text("SELECT first_name, ST_AsText(location) FROM contacts WHERE organization_id = :o"), {"o": org.id}
            )
        ).all()
    )
    assert rows == {"Known": "POINT(26.1 44.43)", "Unknown": None}
