#!/usr/bin/env bash
# PostgreSQL for `make run`, `make test` and `make bench`. Messages go to stderr.
#
#   postgres.sh              find or provide a server; print the URL of its maintenance database
#                            ("postgres") on stdout
#   postgres.sh stop         stop the project-local cluster (make pg-stop)
#   postgres.sh with-db URL DB   print URL naming database DB instead (with or without ?query)
#   postgres.sh describe URL     print "database DB on HOST:PORT" (never a user or password)
#
# Finding a server:
#   1. PG_SERVER_URL set: use it, nothing is probed or started.
#   2. Unless PG_LOCAL=1: something answers on 127.0.0.1:5432 and lets user postgres in without a
#      password: use it.
#   3. Otherwise run a project-local cluster on 127.0.0.1:$PG_LOCAL_PORT (default 54329), trust
#      auth, TCP only; install Debian's postgresql package first when its binaries are missing and
#      we are root. initdb refuses to run as root, so as root the cluster runs as the postgres user,
#      which must reach its directory: .pgdata/ in the repository (git-ignored), or, when postgres
#      cannot reach the repository (a 0700 home directory), /var/tmp/invoice-ingest-pg-<hash of the
#      repository's path>. It keeps running after the command ends; `make pg-stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
port=${PG_LOCAL_PORT:-54329}

say() { echo "postgres.sh: $*" >&2; }

# with_db URL DB: URL naming database DB. postgres:// URLs keep their user, host and query string;
# key=value strings get dbname=DB.
with_db() {
  local url=$1 db=$2
  local re='^(postgres(ql)?://[^/?#]*)(/[^?#]*)?([?#].*)?$'
  if [[ $url =~ $re ]]; then
    echo "${BASH_REMATCH[1]}/$db${BASH_REMATCH[4]}"
  elif [[ $url == *=* ]]; then
    echo "$(sed -E 's/(^|[[:space:]])dbname=[^[:space:]]*//g' <<<"$url") dbname=$db" | sed -E 's/^ +//'
  else
    say "not a postgres:// URL or key=value string"; return 1
  fi
}

# describe URL: "database DB on HOST:PORT", without user or password.
describe() {
  local url=$1 host="" port="" db=""
  local re='^postgres(ql)?://([^/?#]*)(/([^?#]*))?(\?([^#]*))?'
  if [[ $url =~ $re ]]; then
    local hostport=${BASH_REMATCH[2]##*@} query=${BASH_REMATCH[6]}
    db=${BASH_REMATCH[4]}
    if [[ $hostport =~ ^(\[[^]]*\]|[^:]*)(:([0-9]*))?$ ]]; then
      host=${BASH_REMATCH[1]}; port=${BASH_REMATCH[3]}
    else
      host=$hostport; port=- # several hosts, each with its port
    fi
    local kv
    IFS='&' read -r -a kvs <<<"$query"
    for kv in "${kvs[@]}"; do
      case $kv in host=*) host=${kv#host=} ;; port=*) port=${kv#port=} ;; dbname=*) db=${kv#dbname=} ;; esac
    done
  else
    local w
    for w in $url; do
      case $w in host=*) host=${w#host=} ;; port=*) port=${w#port=} ;; dbname=*) db=${w#dbname=} ;; esac
    done
  fi
  [ "$port" = - ] && port="" || port=:${port:-5432}
  echo "database ${db:-(default)} on ${host:-localhost}$port"
}

is_root() { [ "$(id -u)" = 0 ]; }

# datadir: where the local cluster lives (see the header).
datadir() {
  if is_root && ! runuser -u postgres -- test -x "$top" 2>/dev/null; then
    echo "/var/tmp/invoice-ingest-pg-$(printf %s "$top" | sha256sum | cut -c1-12)"
  else
    echo "$top/.pgdata"
  fi
}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

as_owner() { # run a PostgreSQL tool as the cluster's owner
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi # from a directory it may enter
}

case "${1:-}" in
  with-db) with_db "$2" "$3"; exit ;;
  describe) describe "$2"; exit ;;
  stop)
    stopped=
    for data in "$top/.pgdata" "/var/tmp/invoice-ingest-pg-$(printf %s "$top" | sha256sum | cut -c1-12)"; do
      if [ -f "$data/postmaster.pid" ] && [ -n "$bindir" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -w stop >&2 && stopped=1
      fi
    done
    [ -n "$stopped" ] || say "no local cluster is running"
    exit 0 ;;
  "") ;;
  *) say "unknown command $1"; exit 2 ;;
esac

if [ -n "${PG_SERVER_URL:-}" ]; then
  echo "$PG_SERVER_URL"; exit 0
fi

probe() { # probe HOST PORT: can user postgres connect without a password?
  local psql
  psql=$(command -v psql || true)
  [ -n "$psql" ] || { [ -n "$bindir" ] && psql=$bindir/psql; } || return 1
  PGCONNECT_TIMEOUT=3 "$psql" -w -h "$1" -p "$2" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1
}

if [ "${PG_LOCAL:-}" != 1 ] && probe 127.0.0.1 5432; then
  echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 0
fi

if [ -z "$bindir" ]; then
  if is_root && command -v apt-get >/dev/null 2>&1; then
    say "PostgreSQL is not installed; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && apt-get -o DPkg::Lock::Timeout=300 install -y -qq postgresql >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$bindir" ]; then
    say "PostgreSQL 15+ is needed: install it (sudo apt-get install -y postgresql), or set" \
      "DATABASE_URL (make run) / TEST_DATABASE_URL (make test) / PG_SERVER_URL to a server"
    exit 1
  fi
fi

if probe 127.0.0.1 "$port"; then
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; exit 0
fi

data=$(datadir)
if is_root && [ "$data" != "$top/.pgdata" ]; then
  say "user postgres cannot reach $top (a 0700 home directory?): the local cluster lives in $data"
fi
if [ ! -f "$data/PG_VERSION" ]; then
  say "creating a local cluster in $data"
  rm -rf "$data"; mkdir -p "$data"; chmod 700 "$data"
  if is_root; then chown postgres: "$data"; fi
  as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
elif is_root && [ "$(stat -c %U "$data")" != postgres ]; then
  say "$data is not owned by user postgres: remove it (make pg-stop; rm -rf $data) and run again"
  exit 1
fi
say "starting the local cluster on 127.0.0.1:$port"
as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200" start >&2 || {
    say "the local cluster did not start; its log:"; tail -n 20 "$data/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
