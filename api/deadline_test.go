package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// openDB opens a database of the test's own, with a pool of at most maxConns connections.
func openDB(t *testing.T, maxConns int) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t), models.WithMaxConns(maxConns))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// A database that does not answer within REQUEST_TIMEOUT makes a request fail as 503 with
// Retry-After, like a database that is down; it does not hang.
func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	db := openDB(t, 20)
	setup := newStreamEnv(t, &api.Server{DB: db, Config: streamConfig(t, func(*config.Config) {})}, nil)
	tn := newTenant(t, setup.env, "deadline") // on a server with the default deadline: load cannot fail it
	e := newStreamEnv(t, &api.Server{DB: db, Config: streamConfig(t, func(c *config.Config) { c.RequestTimeout = 300 * time.Millisecond })}, nil)

	// Another session holds the customers table: statements on it wait until it lets go.
	ctx := context.Background()
	tx, err := db.SQL.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `LOCK TABLE customers IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	for _, r := range []response{
		e.do("POST", "/data/customers", tn.key, `{"id": "frozen", "data_source": "stripe"}`),
		e.do("GET", "/data/customers?source=stripe", tn.key, nil),
	} {
		requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
		require.NotEmpty(t, r.Header.Get("Retry-After"))
	}
	require.NoError(t, tx.Rollback())
	require.EventuallyWithT(t, func(c *assert.CollectT) { // a loaded machine may need a retry within 300 ms
		r, err := e.send("POST", "/data/customers", tn.key, `{"id": "thawed", "data_source": "stripe"}`)
		require.NoError(c, err)
		assert.Equal(c, http.StatusOK, r.Status, string(r.Body))
	}, 10*time.Second, 10*time.Millisecond)
}

// The key lookup, shared by requests carrying the same key, holds no request past its own
// deadline: with api_keys locked, a request with a key not yet looked up answers 503 in time.
func TestKeyLookupHonoursRequestDeadline(t *testing.T) {
	t.Parallel()
	db := openDB(t, 20)
	setup := newStreamEnv(t, &api.Server{DB: db, Config: streamConfig(t, func(*config.Config) {})}, nil)
	tn := newTenant(t, setup.env, "lookup")
	e := newStreamEnv(t, &api.Server{DB: db, Config: streamConfig(t, func(c *config.Config) { c.RequestTimeout = 300 * time.Millisecond })}, nil)
	api.KeyLookupTimeout(e.server, time.Hour) // only the request's own deadline can end its wait

	ctx := context.Background()
	tx, err := db.SQL.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	answered := make(chan response, 1)
	go func() { r, _ := e.send("GET", "/data/customers?source=stripe", tn.key, nil); answered <- r }()
	var r response
	select {
	case r = <-answered:
	case <-time.After(30 * time.Second): // a hang guard, far beyond the 300 ms deadline
	}
	require.NoError(t, tx.Rollback())
	requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}

// /readyz does not wait for the pool: with every pool connection busy it still answers 200.
func TestReadyWithBusyPool(t *testing.T) {
	t.Parallel()
	db := openDB(t, 2)
	e := newStreamEnv(t, &api.Server{DB: db, Config: streamConfig(t, func(*config.Config) {})}, nil)
	api.ReadyCacheFor(e.server, time.Nanosecond) // every /readyz below asks the database
	require.Equal(t, http.StatusOK, e.do("GET", "/readyz", "", nil).Status)

	ctx := context.Background()
	var held []*sql.Conn
	for range 2 {
		c, err := db.SQL.Conn(ctx)
		require.NoError(t, err)
		held = append(held, c)
	}
	for range 3 {
		require.Equal(t, http.StatusOK, e.do("GET", "/readyz", "", nil).Status)
	}
	for _, c := range held {
		c.Close()
	}
	e.server.Close()
	require.Equal(t, http.StatusOK, e.do("GET", "/readyz", "", nil).Status, "a closed probe connection is opened again")
}
