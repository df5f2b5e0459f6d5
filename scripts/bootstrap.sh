#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine, then the Python venv.
# System packages are installed only when missing and only when we are root; otherwise the
# exact command is printed and we stop.
set -euo pipefail
cd "$(dirname "$0")/.."

need_db=1; [[ -n "${DATABASE_URL:-}" ]] && need_db=0
need_redis=1; [[ -n "${REDIS_URL:-}" ]] && need_redis=0
pkgs=()
if [[ $need_db == 1 ]]; then
  [[ -x /usr/lib/postgresql/15/bin/initdb ]] || pkgs+=(postgresql-15)
  [[ -f /usr/share/postgresql/15/extension/postgis.control ]] || pkgs+=(postgresql-15-postgis-3)
  # pg_auto_failover: the failover drill's monitor and keepers (and `groundgame up --replicas`' docs).
  [[ -f /usr/share/postgresql/15/extension/pgautofailover.control ]] || pkgs+=(postgresql-15-auto-failover)
  command -v pg_autoctl >/dev/null || pkgs+=(pg-auto-failover-cli)
fi
if [[ $need_redis == 1 ]]; then command -v redis-server >/dev/null || pkgs+=(redis-server); fi
if [[ "${GG_WITH_BROWSER:-0}" == 1 ]]; then [[ -x /usr/bin/chromium ]] || pkgs+=(chromium); fi
python3 -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
# The walk-list PDF embeds DejaVu Sans (ș, ț, ă, â, î, é…).
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || pkgs+=(fonts-dejavu-core)

if (( ${#pkgs[@]} )); then
  if [[ $(id -u) == 0 ]]; then
    echo "==> installing system packages: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "Missing system packages. Run this, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${pkgs[*]}" >&2
    exit 1
  fi
fi

stamp=.venv/.installed
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  echo "==> installing the project into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import app, fastapi, asyncpg, geoalchemy2, arq' 
  touch $stamp
fi
