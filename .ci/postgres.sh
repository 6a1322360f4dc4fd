#!/usr/bin/env bash
# Finds or provides a PostgreSQL server for `make run` and `make test`, and prints the URL of its
# maintenance database ("postgres") on stdout. Everything else goes to stderr.
#
#   1. PG_SERVER_URL set: use it.
#   2. Something answers on 127.0.0.1:5432 and lets user postgres in without a password: use it.
#   3. Otherwise run a project-local cluster in .pgdata/ (git-ignored) on port 54329, trust auth,
#      TCP on 127.0.0.1 only; install Debian's postgresql package first when its binaries are
#      missing and we are root. initdb refuses to run as root, so as root the cluster runs as the
#      postgres user. It keeps running after the command ends; `make pg-stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
port=54329
data="$top/.pgdata"

say() { echo "postgres.sh: $*" >&2; }

if [ -n "${PG_SERVER_URL:-}" ]; then
  echo "$PG_SERVER_URL"; exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
probe() { # probe HOST PORT: can user postgres connect without a password?
  if command -v psql >/dev/null 2>&1; then
    PGCONNECT_TIMEOUT=3 psql -w -h "$1" -p "$2" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
  elif [ -n "$bindir" ]; then
    PGCONNECT_TIMEOUT=3 "$bindir/psql" -w -h "$1" -p "$2" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
  else
    return 1
  fi
}

if probe 127.0.0.1 5432; then
  echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 0
fi

if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "PostgreSQL is not installed; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$bindir" ]; then
    say "PostgreSQL 15+ is needed: install it (sudo apt-get install -y postgresql) or set PG_SERVER_URL / DATABASE_URL"
    exit 1
  fi
fi

as_owner() { # run a PostgreSQL tool as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if probe 127.0.0.1 "$port"; then
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; exit 0
fi

if [ ! -f "$data/PG_VERSION" ]; then
  say "creating a local cluster in $data"
  rm -rf "$data"; mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
say "starting the local cluster on 127.0.0.1:$port"
as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200" start >&2 || {
    say "the local cluster did not start; its log:"; tail -n 20 "$data/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
