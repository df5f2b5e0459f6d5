#!/usr/bin/env bash
# Backup and restore with pg_dump / pg_restore (custom format, compressed, parallel restore).
#   scripts/backup.sh dump    OWNER_URL FILE      # e.g. postgresql://owner@host:5432/groundgame
#   scripts/backup.sh restore OWNER_URL FILE      # into an empty database; recreates schema, data, policies
# URLs are libpq URLs (no "+asyncpg"). Run as the table owner (or a superuser) so row-level security does
# not filter the dump. After a restore, run `groundgame migrate` to grant the application role.
set -euo pipefail
cmd=${1:?dump|restore}; url=${2:?database url}; file=${3:?file}
url=${url/+asyncpg/}
case "$cmd" in
  dump)    pg_dump --format=custom --no-owner --no-privileges --file="$file" "$url" ;;
  restore) pg_restore --no-owner --no-privileges --exit-on-error --jobs=2 --dbname="$url" "$file" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
