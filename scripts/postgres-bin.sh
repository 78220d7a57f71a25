#!/usr/bin/env bash
# Prints the directory of PostgreSQL's server binaries (initdb, pg_ctl), installing Debian's
# postgresql package first when they are missing and we are root; exits 1 when there are none.
# internal/pgtest/pgcluster.FindBin searches the same places.
set -euo pipefail

find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
}

PGBIN=$(find_bin)
if [ -z "$PGBIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "postgres-bin: installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(find_bin)
fi
[ -n "$PGBIN" ] || exit 1
echo "$PGBIN"
