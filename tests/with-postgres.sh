#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at PostgreSQL.
# With DATABASE_URL already set, that database is used as it is. Otherwise a throwaway server
# is started for the command and removed afterwards: as root through Debian's
# pg_createcluster/pg_ctlcluster (initdb refuses to run as root), as anyone else through
# initdb/pg_ctl in a temporary directory.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bindir)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "with-postgres: installing PostgreSQL from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "with-postgres: PostgreSQL is not installed. Install it (Debian: apt-get install" \
         "postgresql) or set DATABASE_URL to a database this user may create databases on." >&2
    exit 1
  fi
fi

bindir=$(pg_bindir)
version=$(basename "$(dirname "$bindir")")
# A port below the kernel's ephemeral ones (32768 and up, by default): one of those may be the
# local end of an outgoing connection, which nothing answers on but PostgreSQL cannot bind.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "with-postgres: found no free port" >&2; exit 1
}
port=$(free_port)
# Durability is worth nothing for a database that is thrown away after the run.
fast=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)

if [ "$(id -u)" = 0 ]; then
  cluster="crm_test_$$"
  pg_createcluster --quiet --port "$port" \
    -o fsync=off -o synchronous_commit=off -o full_page_writes=off \
    "$version" "$cluster" -- --auth=trust >/dev/null
  trap 'pg_dropcluster --stop "$version" "$cluster" >/dev/null 2>&1 || true' EXIT
  pg_ctlcluster "$version" "$cluster" start
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  # For the fault tests: how to restart this server.
  export TEST_POSTGRES_RESTART="pg_ctlcluster $version $cluster restart -m fast"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-pg.XXXXXX")
  trap '"$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
  "$bindir/initdb" --auth=trust --username=postgres -D "$dir/data" >/dev/null
  "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 ${fast[*]}" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export TEST_POSTGRES_RESTART="$bindir/pg_ctl -D $dir/data -m fast -w -l $dir/server.log restart"
fi

echo "with-postgres: PostgreSQL $version on port $port for this run" >&2
"$@"
