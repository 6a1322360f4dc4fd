#!/usr/bin/env bash
# PgBouncer for `make test` (internal/pgbouncertest starts it itself, in transaction pooling mode).
# Messages go to stderr.
#
#   pgbouncer.sh     when pgbouncer is missing and we are root with apt-get (CI), install Debian's
#                    pgbouncer package; print "required" on stdout when root (the tests must then
#                    run: PGBOUNCER_REQUIRED=1), "optional" otherwise (without pgbouncer they skip,
#                    saying so).
set -euo pipefail

say() { echo "pgbouncer.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  command -v pgbouncer >/dev/null 2>&1 ||
    say "pgbouncer is not installed and we are not root: the PgBouncer tests will skip (apt-get install pgbouncer)"
  echo optional; exit 0
fi
if ! command -v pgbouncer >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "pgbouncer is missing and there is no apt-get: install PgBouncer 1.18+ for the PgBouncer tests"
    echo required; exit 0 # the tests then fail, naming what is missing
  fi
  say "installing Debian's pgbouncer package for the PgBouncer tests"
  export DEBIAN_FRONTEND=noninteractive
  # Wait up to 5 minutes for another apt or dpkg (unattended upgrades on a fresh machine, a
  # user's install) to let go of its lock, rather than fail at once.
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq pgbouncer >&2 2>/dev/null ||
    { apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && apt-get -o DPkg::Lock::Timeout=300 install -y -qq pgbouncer >&2; }
fi
echo required
