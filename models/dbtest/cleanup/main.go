// Command cleanup drops what a `go test` run left on the test server (TEST_DATABASE_URL): the
// run's own test databases (DBTEST_RUN), unused test databases of runs killed over an hour ago,
// and the ii_template_* templates. `make test` runs it after `go test`, whatever its result.
// See dbtest.Cleanup.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"invoice-ingest/models/dbtest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dbtest.Cleanup(ctx, os.Getenv("DBTEST_RUN"), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest cleanup:", err)
		os.Exit(1)
	}
}
