// Package pgbouncertest runs the service through a PgBouncer in transaction pooling mode (SPEC
// section 10): two starts that migrate, the HTTP write/read/recalculation smoke and concurrent
// overlapping writes, with models.WithPooler. It has tests only.
//
// The tests start Debian's pgbouncer themselves, on a free loopback port in front of the server of
// TEST_DATABASE_URL (see models/dbtest), and stop it afterwards. Without a pgbouncer binary they
// skip, saying so, unless PGBOUNCER_REQUIRED=1 (set by `make test` when it runs as root, after
// installing the package), which makes a missing binary a failure.
package pgbouncertest
