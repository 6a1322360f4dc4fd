# The two commands of the README. Both provision PostgreSQL themselves (.ci/postgres.sh).
.PHONY: run test bench pg-stop

# run: migrate, create a demo account (printing its key) when none exists, serve on HTTP_ADDR.
run:
	@server=$$(bash .ci/postgres.sh) && \
	url=$${DATABASE_URL:-$$(echo "$$server" | sed 's#/postgres?#/invoice_ingest?#')} && \
	go build -o bin/invoice-ingest ./cmd/invoice-ingest && \
	DATABASE_URL="$$url" exec bin/invoice-ingest serve --demo-account

# test: the whole suite, with the race detector, each package on its own cloned database.
test:
	@server=$$(bash .ci/postgres.sh) && \
	TEST_DATABASE_URL="$$server" go test -race -count=1 ./...

# bench: the end-to-end load tool against a scratch database (see README).
bench:
	@server=$$(bash .ci/postgres.sh) && \
	go run ./cmd/ingest-bench -database-url "$$server"

pg-stop:
	@bindir=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); \
	if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- $$bindir/pg_ctl -D $(CURDIR)/.pgdata stop; \
	else $$bindir/pg_ctl -D $(CURDIR)/.pgdata stop; fi
