from __future__ import annotations

import json
import logging

import pytest
from httpx import AsyncClient

from tests.fixtures.factories import World


async def test_healthz_and_readyz_check_database_and_redis(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_docs_are_served_without_internet(client: AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert (await client.get("/static/docs/swagger-ui-bundle.js")).status_code == 200
    redoc = await client.get("/redoc")
    assert "/static/docs/redoc.standalone.js" in redoc.text and "fonts.googleapis" not in redoc.text
    assert (await client.get("/static/docs/redoc.standalone.js")).status_code == 200
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert (await client.get("/openapi.json")).json()["paths"] == spec["paths"]


async def test_operation_ids_are_stable_and_unique(client: AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values() if "operationId" in op]
    assert len(ids) == len(set(ids))
    assert "auth-login" in ids and "teams-list" in ids
    assert all(i.replace("-", "").replace("_", "").isalnum() and i == i.lower() for i in ids)


async def test_unknown_api_path_is_404_in_the_error_shape(client: AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_security_headers_and_request_id(client: AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in r.headers["content-security-policy"]


async def test_oversized_body_is_413(client: AsyncClient, world: World) -> None:
    big = b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    r = await client.post(
        "/api/v1/teams", content=big, headers={**world.a["manager"].headers, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_access_log_is_json_with_request_id_and_no_personal_data(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from app.core.logging import JsonFormatter

    caplog.set_level(logging.INFO, logger="groundgame.access")
    await client.post(
        "/api/v1/auth/login",
        json={"email": "secret.person@example.org", "password": "x"},
        headers={"X-Request-ID": "rid-1"},
    )
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "groundgame.access"]
    assert lines
    entry = json.loads(lines[-1])
    assert entry["request_id"] == "rid-1" and entry["status"] == 401
    assert "secret.person" not in "\n".join(lines)
