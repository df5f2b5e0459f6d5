#!/usr/bin/env bash
# Regenerates the PWA's typed API client from the backend's OpenAPI schema:
#   backend schema (scripts/dump_openapi.py) → pwa/openapi.json → pwa/src/api/schema.d.ts
# `npm run build` (check:api) fails whenever schema.d.ts is stale relative to pwa/openapi.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
(cd "$ROOT" && "$PY" scripts/dump_openapi.py "$ROOT/pwa/openapi.json" >/dev/null)
cd "$ROOT/pwa"
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent gen:api
echo "==> pwa/src/api/schema.d.ts regenerated; run 'npm run typecheck' in pwa/ to see what changed for the app"
