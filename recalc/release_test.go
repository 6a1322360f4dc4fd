package recalc

import (
	"context"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/models/dbtest/freezeproxy"
)

// openThroughProxy opens db's database again through a proxy the test can take down.
func openThroughProxy(t *testing.T, db *models.DB) (*models.DB, *freezeproxy.Proxy) {
	t.Helper()
	var name string
	require.NoError(t, db.SQL.QueryRow(`SELECT current_database()`).Scan(&name))
	u, err := url.Parse(dbtest.ServerURL())
	require.NoError(t, err)
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	proxy, err := freezeproxy.Start(net.JoinHostPort(u.Hostname(), port))
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	u.Host, u.Path = proxy.Addr, "/"+name
	pdb, err := models.Open(context.Background(), u.String())
	require.NoError(t, err)
	t.Cleanup(func() { pdb.Close() })
	return pdb, proxy
}

// The database goes away in the middle of a batch: the write-back, recording the failure and the
// release all fail. Once it is back, the release is retried, and the customer is computed long
// before its lease (an hour here) would have freed it.
func TestFailedReleaseIsRetriedAfterReconnect(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 1)
	pdb, proxy := openThroughProxy(t, db)
	cfg := leased(testConfig(july15(t)))
	cfg.Lease = time.Hour
	p := NewPool(pdb, cfg)
	retried, written := newSignal[error](), newSignal[[]CustomerKey]()
	first := true
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		if first { // only the one claim loop runs this
			first = false
			proxy.Down()
		}
		return nil
	}
	p.hooks.releaseRetried = func(_ string, err error) { retried.send(err) }
	p.hooks.written = written.send
	p.cfg.Workers = 1

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	require.Error(t, waitFor(t, retried), "the database is still down")
	row, ok := queued(t, db, keys[0])
	require.True(t, ok)
	require.True(t, row.locked, "the claim is still held while the database is away")
	proxy.Up()
	for waitFor(t, retried) != nil { // retries until one gets through
	}
	for !slices.Contains(waitFor(t, written), keys[0]) {
	}
	cancel()
	require.NoError(t, <-done)
	_, ok = queued(t, db, keys[0])
	require.False(t, ok, "computed and taken off the queue")
}
