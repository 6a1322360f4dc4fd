# The two commands of the README, `make run` and `make test`, plus `make bench` and `make pg-stop`.
# Without a configured server they find or provide PostgreSQL themselves (.ci/postgres.sh).
#
# Variables read (from the environment or as `make VAR=value`):
#   DATABASE_URL       make run: the service's database, used as is (nothing is probed or started).
#                      Unset: database invoice_ingest on the server .ci/postgres.sh provides.
#   TEST_DATABASE_URL  make test: the server the tests create their databases on (any database
#                      on it; the tests need CREATEDB), used as is. Unset: .ci/postgres.sh's server.
#   PG_SERVER_URL      run, test (when the two above are unset) and bench: a server's maintenance
#                      database URL to use instead of probing 127.0.0.1:5432 or starting a cluster.
#   PG_LOCAL=1         skip the 127.0.0.1:5432 probe: always use the project-local cluster.
#   PG_LOCAL_PORT      the project-local cluster's port (default 54329).
#   CC, CGO_ENABLED    make test: -race needs cgo, so it is used only when `go env CGO_ENABLED` is 1
#                      and `go env CC` compiles a C program; otherwise the tests run without it
#                      (with CGO_ENABLED=0) and one line on stderr says why.
#   TESTFLAGS          make test: extra `go test` flags (e.g. TESTFLAGS='-run TestX -v').
#   PKGS               make test: the packages (default ./...).
#   ARGS               make cli: the command line of invoice-ingest (e.g. ARGS='accounts list').
#   PGBOUNCER_REQUIRED make test: set to 1 when root (then a missing pgbouncer fails the
#                      PgBouncer tests instead of skipping them).
#   STRIPE_MOCK, STRIPE_MOCK_REQUIRED  make test: the stripe-mock binary .ci/stripe-mock.sh
#                      installs into bin/, and 1 when it is installed or we are root (then the
#                      sync stripe tests must run instead of skipping).
# The Go toolchain's own variables (GOFLAGS, GOPROXY, ...) apply as usual.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.PHONY: run cli test bench pg-stop

TESTFLAGS ?=
PKGS ?= ./...

# app_url sets $$url to the service's database: DATABASE_URL, else invoice_ingest on the server
# .ci/postgres.sh finds or provides.
app_url = if [ -n "$${DATABASE_URL:-}" ]; then url=$$DATABASE_URL; \
	else server=$$(bash .ci/postgres.sh); url=$$(bash .ci/postgres.sh with-db "$$server" invoice_ingest); fi

# run: migrate, create a demo account (printing its key) when none exists, serve on HTTP_ADDR.
run:
	@$(app_url)
	echo "make run: serving $$(bash .ci/postgres.sh describe "$$url")" >&2
	go build -o bin/invoice-ingest ./cmd/invoice-ingest
	DATABASE_URL="$$url" exec bin/invoice-ingest serve --demo-account

# cli: the binary's other commands against the database make run serves, e.g.
# make cli ARGS='keys create --account ACCOUNT_ID --scopes data:read'
cli:
	@$(app_url)
	go build -o bin/invoice-ingest ./cmd/invoice-ingest
	DATABASE_URL="$$url" exec bin/invoice-ingest $(ARGS)

# test: the whole suite, with the race detector when cgo works, each package on its own database
# cloned from a migrated template; afterwards the run's databases and the templates are dropped
# (models/dbtest/cleanup), whatever the result, and go test's exit status is kept. As root (CI) it
# installs Debian's pgbouncer when missing and the PgBouncer tests must run (.ci/pgbouncer.sh);
# otherwise they skip without one. stripe-mock is installed into bin/ (.ci/stripe-mock.sh) for the
# sync stripe tests.
test:
	@server=$${TEST_DATABASE_URL:-}
	if [ -z "$$server" ]; then server=$$(bash .ci/postgres.sh); fi
	race=-race why=
	cc=$$(go env CC); cc1=$${cc%% *}
	if [ "$${CGO_ENABLED:-}" = 0 ]; then why="CGO_ENABLED=0"
	elif ! command -v "$$cc1" >/dev/null 2>&1; then why="no C compiler (go env CC: $$cc not found)"
	elif [ "$$(go env CGO_ENABLED)" != 1 ]; then why="cgo is off (go env CGO_ENABLED=$$(go env CGO_ENABLED))"
	elif ! echo 'int main(void) { return 0; }' | $$cc -x c -o /dev/null - >/dev/null 2>&1; then
	  why="the C compiler does not work (go env CC: $$cc)"; fi
	if [ -n "$$why" ]; then
	  echo "make test: $$why, so the race detector (cgo) is off: running go test without -race" >&2
	  race=; export CGO_ENABLED=0
	fi
	if [ "$$(bash .ci/pgbouncer.sh)" = required ]; then export PGBOUNCER_REQUIRED=1; fi
	{ read -r mock; read -r need; } < <(bash .ci/stripe-mock.sh)
	export STRIPE_MOCK=$$mock; if [ "$$need" = required ]; then export STRIPE_MOCK_REQUIRED=1; fi
	export TEST_DATABASE_URL=$$server DBTEST_RUN=$$(printf 'm%x%x' "$$(date +%s)" $$$$)
	trap : INT # Ctrl-C stops go test, not the cleanup after it
	rc=0; go test $$race -count=1 $(TESTFLAGS) $(PKGS) || rc=$$?
	go run ./models/dbtest/cleanup || echo "make test: cleanup failed (see above); go test's result stands" >&2
	exit $$rc

# bench: the end-to-end load tool against a scratch database it creates and drops (see README).
bench:
	@server=$$(bash .ci/postgres.sh)
	go run ./cmd/ingest-bench -database-url "$$server"

# pg-stop: stop the project-local cluster, if one runs.
pg-stop:
	@bash .ci/postgres.sh stop
