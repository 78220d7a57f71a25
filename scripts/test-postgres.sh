#!/usr/bin/env bash
# Runs a command (default: go test ./...) with a throwaway PostgreSQL cluster:
# installs PostgreSQL from Debian's packages when initdb is missing, starts a cluster in a
# temporary directory on a free loopback port (fsync off: test data only), exports
#   AGENTMCP_TEST_POSTGRES_URL  a superuser URL of that cluster
#   AGENTMCP_TEST_PG_BIN        the directory of initdb/pg_ctl (for tests that need their own cluster)
#   AGENTMCP_TEST_PG_RUNAS      the user to run them as when we are root ("" otherwise)
# and always stops and removes the cluster.
set -euo pipefail

PGBIN=$("$(dirname "$0")/postgres-bin.sh") || PGBIN=""
if [ -z "$PGBIN" ]; then
  if [ -n "${CI:-}" ]; then
    echo "test-postgres: PostgreSQL is not installed and could not be installed; CI needs it" >&2
    exit 1
  fi
  echo "test-postgres: PostgreSQL not found: the PostgreSQL tests will SKIP (install package postgresql to run them)" >&2
  exec "$@"
fi

RUNAS=""
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then
  RUNAS=postgres
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
fi

DIR=$(mktemp -d /tmp/agentmcp-pg.XXXXXX)
chmod 755 "$DIR"
[ -n "$RUNAS" ] && chown "$RUNAS" "$DIR"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=""
for _ in $(seq 1 20); do
  PORT=$(( 20000 + RANDOM % 20000 ))
  port_free "$PORT" || continue
  if as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  echo "test-postgres: could not start PostgreSQL" >&2
  cat "$DIR/server.log" >&2 || true
  exit 1
fi

export AGENTMCP_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
export AGENTMCP_TEST_PG_BIN="$PGBIN"
export AGENTMCP_TEST_PG_RUNAS="$RUNAS"
echo "test-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
if [ $# -eq 0 ]; then set -- go test ./...; fi
"$@"
