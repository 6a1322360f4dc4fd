package models_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/models/dbtest/freezeproxy"
)

// setting reads one of the session's settings.
func setting(t *testing.T, db *models.DB, name string) string {
	t.Helper()
	var v string
	require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT current_setting($1)`, name).Scan(&v))
	return v
}

// The timeouts reach the sessions as startup parameters; behind a pooler nothing is sent.
func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	u := dbtest.NewDatabase(t)
	plain, err := models.Open(t.Context(), u)
	require.NoError(t, err)
	defer plain.Close()
	assert.Equal(t, "0", setting(t, plain, "statement_timeout"), "the server's setting unless asked for")

	db, err := models.Open(t.Context(), u, models.WithStatementTimeout(time.Minute), models.WithIdleInTxTimeout(90*time.Second))
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, "1min", setting(t, db, "statement_timeout"))
	assert.Equal(t, "90s", setting(t, db, "idle_in_transaction_session_timeout"))

	pooled, err := models.Open(t.Context(), u, models.WithPooler(true), models.WithStatementTimeout(time.Second))
	require.NoError(t, err)
	defer pooled.Close()
	assert.Equal(t, "0", setting(t, pooled, "statement_timeout"), "nothing sent behind a pooler")
}

// A statement running past DB_STATEMENT_TIMEOUT is cancelled by PostgreSQL, and that is the
// database being unavailable (503), not a fault of the request.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	db, err := models.Open(t.Context(), dbtest.NewDatabase(t), models.WithStatementTimeout(100*time.Millisecond))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.SQL.ExecContext(t.Context(), `SELECT pg_sleep(30)`)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "57014", pgErr.Code)
	assert.True(t, models.IsUnavailable(err))
}

// throughProxy returns u with its host and port replaced by addr.
func throughProxy(t *testing.T, u, addr string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	parsed.Host = addr
	return parsed.String()
}

// A frozen server (SIGSTOP: connections open, nothing answers) cannot enforce its own
// statement_timeout; a statement then fails when its context's deadline passes, on a connection
// held before the freeze, on a new connection and waiting for a pool connection, and each error
// is the database being unavailable.
func TestFrozenDatabaseFailsAtTheDeadline(t *testing.T) {
	t.Parallel()
	u := dbtest.NewDatabase(t)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	host, port := parsed.Hostname(), parsed.Port()
	if port == "" {
		port = "5432"
	}
	proxy, err := freezeproxy.Start(net.JoinHostPort(host, port))
	require.NoError(t, err)
	defer proxy.Close()
	db, err := models.Open(t.Context(), throughProxy(t, u, proxy.Addr), models.WithMaxConns(2),
		models.WithConnectTimeout(30*time.Second)) // the deadline, not the connect timeout, must end it
	require.NoError(t, err)
	defer db.Close()

	// One connection is idle in the pool, one is busy in a transaction when the server freezes.
	tx, err := db.SQL.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer tx.Rollback() // the connection is gone by then
	proxy.Freeze()
	defer proxy.Thaw()

	const deadline = 300 * time.Millisecond
	for name, run := range map[string]func(ctx context.Context) error{
		"idle pooled connection": func(ctx context.Context) error { _, err := db.SQL.ExecContext(ctx, `SELECT 1`); return err },
		"inside a transaction":   func(ctx context.Context) error { _, err := tx.ExecContext(ctx, `SELECT 1`); return err },
		"pool exhausted":         func(ctx context.Context) error { return db.Ping(ctx) },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		began := time.Now()
		err := run(ctx)
		cancel()
		took := time.Since(began)
		require.Error(t, err, name)
		assert.True(t, models.IsUnavailable(err), "%s: %v is unavailable", name, err)
		assert.Less(t, took, 10*deadline, "%s took %s", name, took)
	}
}
