#!/usr/bin/env bash
# Regenerates the PWA's typed API client from the backend's OpenAPI schema:
#   backend schema (scripts/dump_openapi.py) → pwa/openapi.json → pwa/src/api/schema.d.ts
# Paths of the volunteer-app contract that the backend does not expose yet are added by
# pwa/scripts/openapi_overlay.py (it prints them); once the backend has them all, the overlay adds
# nothing and pwa/openapi.json is exactly the backend's schema.
# `npm run build` (check:api) fails whenever schema.d.ts is stale relative to pwa/openapi.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
(cd "$ROOT" && "$PY" scripts/dump_openapi.py "$tmp" >/dev/null)
python3 "$ROOT/pwa/scripts/openapi_overlay.py" "$tmp" "$ROOT/pwa/openapi.json"
cd "$ROOT/pwa"
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent gen:api
echo "==> pwa/src/api/schema.d.ts regenerated; run 'npm run typecheck' in pwa/ to see what changed for the app"
