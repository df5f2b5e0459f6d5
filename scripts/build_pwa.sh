#!/usr/bin/env bash
# Builds the PWA into pwa/dist when Node is present (skipped otherwise: the API still runs).
set -euo pipefail
cd "$(dirname "$0")/../pwa"
if ! command -v npm >/dev/null; then echo "==> node/npm not found: PWA not built (API only)"; exit 0; fi
[[ -f package.json ]] || exit 0
if [[ ! -d node_modules || package.json -nt node_modules/.stamp ]]; then
  echo "==> installing PWA dependencies"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  touch node_modules/.stamp
fi
echo "==> building the PWA"
npm run --silent build
