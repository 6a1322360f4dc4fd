package pgbouncertest

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/internal/pgbouncer"
	"invoice-ingest/models/dbtest"
)

// syncBuffer is pgbouncer's log, written by the process and read by a failing test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBouncer starts pgbouncer in front of the test server (a pool of 4 server sessions, so
// sessions are shared hard) and stops it when t ends; without pgbouncer the test skips, unless
// PGBOUNCER_REQUIRED=1 (make test as root installs it).
func startBouncer(t *testing.T) *pgbouncer.Bouncer {
	t.Helper()
	server, err := url.Parse(dbtest.ServerURL())
	require.NoError(t, err, "TEST_DATABASE_URL must be a postgres:// URL for the PgBouncer tests")
	var log syncBuffer
	b, err := pgbouncer.Start(server, pgbouncer.Options{PoolSize: 4, MaxClients: 200, Log: &log})
	if errors.Is(err, pgbouncer.ErrNotInstalled) {
		if os.Getenv("PGBOUNCER_REQUIRED") == "1" {
			t.Fatal("pgbouncer is not installed, and PGBOUNCER_REQUIRED=1 (make test as root installs Debian's pgbouncer)")
		}
		t.Skip("pgbouncer is not installed: skipping the PgBouncer tests (apt-get install pgbouncer, or run make test as root)")
	}
	require.NoError(t, err, "pgbouncer's log:\n%s", log.String())
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("pgbouncer's log:\n%s", log.String())
		}
	})
	return b
}
