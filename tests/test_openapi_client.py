"""The PWA's typed client is generated from pwa/openapi.json, which must be the backend's schema as it is now
(regenerate with scripts/gen_api_client.sh); `npm run build` then fails if src/api/schema.d.ts is stale."""

from __future__ import annotations

import json

from app.config import ROOT
from app.main import create_app


def test_pwa_openapi_copy_is_the_backends_current_schema() -> None:
    committed = json.loads((ROOT / "pwa" / "openapi.json").read_text())
    current = json.loads(json.dumps(create_app().openapi()))
    assert committed == current, "pwa/openapi.json is stale: run scripts/gen_api_client.sh"
