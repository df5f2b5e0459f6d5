#!/usr/bin/env bash
# make test: throwaway PostgreSQL + Redis (started by the test session itself), then the suites.
set -euo pipefail
cd "$(dirname "$0")/.."
export GG_WITH_BROWSER=1
bash scripts/bootstrap.sh
.venv/bin/ruff check app tests bench scripts migrations
.venv/bin/ruff format --check app tests bench scripts migrations
.venv/bin/mypy app tests
if [[ -f pwa/package.json ]] && command -v npm >/dev/null; then
  (cd pwa && npm run --silent test)
fi
.venv/bin/python -m pytest "$@"
