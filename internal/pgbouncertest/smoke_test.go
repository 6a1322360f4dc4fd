package pgbouncertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/recalc"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// start is what serve does with the database at start-up, through the bouncer: create it if
// missing, open the pool with the pooler setting, migrate.
func start(t *testing.T, url string) *models.DB {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, models.EnsureDatabase(ctx, url))
	db, err := models.Open(ctx, url, models.WithPooler(true))
	require.NoError(t, err)
	require.NoError(t, models.Migrate(ctx, db.SQL))
	return db
}

// Two starts migrate through the bouncer (the second found the statements of the first's server
// sessions: 42P05), and the migration lock outlives neither.
func TestMigrateTwiceThroughPgBouncer(t *testing.T) {
	t.Parallel()
	b := startBouncer(t)
	direct := dbtest.NewEmptyDatabase(t)
	name := databaseName(t, direct)
	for range 2 {
		db := start(t, b.URL(name))
		var locked bool
		require.NoError(t, db.SQL.QueryRow(`SELECT bool_or(locked) FROM goose_lock`).Scan(&locked))
		assert.False(t, locked, "the migration lock is released")
		require.NoError(t, db.Close())
	}
	db, err := models.Open(t.Context(), direct)
	require.NoError(t, err)
	defer db.Close()
	var advisory int
	require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND d.datname = $1`, name).Scan(&advisory))
	assert.Zero(t, advisory, "no session lock left on a pooled server session")
	require.NoError(t, models.CheckMigrated(t.Context(), db.SQL))
}

// The server sessions the bouncer hands out carry the timeouts of its connect_query, which the
// service cannot send itself behind a pooler.
func TestTimeoutsComeFromThePooler(t *testing.T) {
	t.Parallel()
	b := startBouncer(t)
	db := start(t, b.URL(databaseName(t, dbtest.NewDatabase(t))))
	defer db.Close()
	var timeout string
	require.NoError(t, db.SQL.QueryRow(`SELECT current_setting('statement_timeout')`).Scan(&timeout))
	assert.Equal(t, "1min", timeout)
}

// databaseName is the database a URL names.
func databaseName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgxParse(url)
	require.NoError(t, err)
	return cfg
}

// client talks to the API as one account.
type client struct {
	t   *testing.T
	srv *httptest.Server
	key string
}

func (c client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.srv.Client().Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var out map[string]any
	require.NoError(c.t, json.Unmarshal(raw, &out), "%d %s", resp.StatusCode, raw)
	return resp.StatusCode, out
}

// serve runs the API and two recalculation workers on db, as serve does, until t ends.
func serve(t *testing.T, db *models.DB) *httptest.Server {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer((&api.Server{DB: db, Config: cfg, Log: log}).Handler())
	ctx, cancel := context.WithCancel(context.Background())
	pool := recalc.NewPool(db, recalc.Config{Workers: 2, PollInterval: 10 * time.Millisecond, Log: log,
		Now: func() time.Time { return time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC) }})
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		assert.NoError(t, <-done, "workers release their claims")
	})
	return srv
}

// The HTTP write/read/recalculation smoke through the bouncer, then eight clients posting
// overlapping batches at once: no 5xx, every id stored once.
func TestServiceThroughPgBouncer(t *testing.T) {
	t.Parallel()
	b := startBouncer(t)
	db := start(t, b.URL(databaseName(t, dbtest.NewDatabase(t))))
	t.Cleanup(func() { db.Close() }) // after serve's cleanup, which stops the workers
	_, key, err := db.CreateAccount(t.Context(), "pgbouncer")
	require.NoError(t, err)
	c := client{t: t, srv: serve(t, db), key: key}

	status, _ := c.do("POST", "/data/data_sources", `{"name": "stripe"}`)
	require.Equal(t, http.StatusCreated, status)
	status, body := c.do("POST", "/data/customers", `[{"id": "cus_1", "data_source": "stripe", "name": "Acme"}]`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = c.do("POST", "/data/invoices", `[{"id": "inv_1", "customer_id": "cus_1", "data_source": "stripe",
		"type": "subscription", "date": "2024-07-01", "amount_cents": 9900, "currency": "usd",
		"start_date": "2024-07-01", "end_date": "2024-08-01"}]`)
	require.Equal(t, http.StatusOK, status, body)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		status, body := c.do("GET", "/data/customers/cus_1?source=stripe", "")
		require.Equal(ct, http.StatusOK, status, body)
		result := body["result"].(map[string]any)
		require.Equal(ct, false, result["metrics_stale"])
		metrics := result["metrics"].([]any)
		require.Len(ct, metrics, 1)
		assert.EqualValues(ct, 9900, metrics[0].(map[string]any)["mrr_cents"])
	}, 30*time.Second, 20*time.Millisecond, "metrics recalculated through the bouncer")

	concurrentWrites(t, c)
	status, body = c.do("GET", "/data/invoices?source=stripe&limit=1000", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Len(t, body["result"].(map[string]any)["list"].([]any), 1+7*20+120, "every id stored once")
}

// concurrentWrites has eight clients post overlapping batches of 120 invoices, three rounds each.
func concurrentWrites(t *testing.T, c client) {
	t.Helper()
	const clients, window, step, rounds = 8, 120, 20, 3
	var wg sync.WaitGroup
	var errs atomic.Int64
	statuses := make([][]int, clients)
	for n := range clients {
		wg.Go(func() {
			for round := range rounds {
				rows := make([]string, 0, window)
				for i := n * step; i < n*step+window; i++ {
					rows = append(rows, fmt.Sprintf(`{"id": "inv_c%04d", "customer_id": "cus_1", "data_source": "stripe",
						"type": "one-time", "date": "2024-07-01", "amount_cents": %d, "currency": "usd",
						"start_date": "2024-07-01", "end_date": "2024-08-01"}`, i, 100*n+round))
				}
				status, body := c.do("POST", "/data/invoices", "["+strings.Join(rows, ",")+"]")
				statuses[n] = append(statuses[n], status)
				if results, ok := body["result"].([]any); ok {
					for _, r := range results {
						if r.(map[string]any)["import_status"] == "error" {
							errs.Add(1)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	for n, ss := range statuses {
		for _, s := range ss {
			assert.Equal(t, http.StatusOK, s, "client %d", n)
		}
	}
	assert.Zero(t, errs.Load(), "row errors")
}

// pgxParse returns the database name of url.
func pgxParse(url string) (string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", err
	}
	return cfg.Database, nil
}
