package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/telemetry"
)

// limits sets the admission limits of a test's server.
func limits(l config.Limits) func(*config.Config) {
	return func(c *config.Config) { c.Limits = l }
}

// requireRateHeaders asserts the RateLimit-* headers of a bucket of size limit.
func requireRateHeaders(t *testing.T, r response, limit, remaining int) {
	t.Helper()
	require.Equal(t, strconv.Itoa(limit), r.Header.Get("RateLimit-Limit"))
	require.Equal(t, strconv.Itoa(remaining), r.Header.Get("RateLimit-Remaining"))
	reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, reset, 0)
}

// requireRetryAfter asserts a Retry-After of whole seconds, at least 1, and returns it.
func requireRetryAfter(t *testing.T, r response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	require.GreaterOrEqual(t, n, 1)
	return n
}

// A rate of 0.01/s makes buckets of 1 that take 100 s to refill: the second immediate request of a
// bucket is refused, whatever the speed of the machine.
func TestRateLimitsPerAccountAndBucket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, limits(config.Limits{WritesPerSecond: 0.01, ReadsPerSecond: 0.01}))
	a, b := e.account("limited a"), e.account("limited b")

	r := e.do("GET", "/data/data_sources", a, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	requireRateHeaders(t, r, 1, 0)
	reset, _ := strconv.Atoi(r.Header.Get("RateLimit-Reset"))
	require.InDelta(t, 100, reset, 1, "until the bucket is full again")

	r = e.do("GET", "/data/data_sources", a, nil)
	requireProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	requireRateHeaders(t, r, 1, 0)
	require.InDelta(t, 100, requireRetryAfter(t, r), 1, "from the reservation's delay")
	requireProblem(t, e.do("GET", "/data/invoices?source=x", a, nil), http.StatusTooManyRequests, "rate_limited")
	require.Equal(t, http.StatusTooManyRequests, e.do("HEAD", "/data/data_sources", a, nil).Status, "HEAD is a read")

	r = e.do("POST", "/data/data_sources", a, map[string]string{"name": "s"})
	require.Equal(t, http.StatusCreated, r.Status, "writes have their own bucket: %s", r.Body)
	requireRateHeaders(t, r, 1, 0)
	r = e.do("POST", "/data/customers", a, `[]`)
	requireProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	requireRateHeaders(t, r, 1, 0)
	requireRetryAfter(t, r)

	r = e.do("GET", "/data/invoices", b, nil)
	requireProblem(t, r, http.StatusBadRequest, "invalid_request")
	requireRateHeaders(t, r, 1, 0) // another account's bucket; a 400 carries the headers too
}

func TestNoRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	key := e.account("unlimited")
	for range 50 {
		r := e.do("GET", "/data/data_sources", key, nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Empty(t, r.Header.Get("RateLimit-Limit"), "0 = no limit, no bucket")
	}
}

// One write holds the only slot (an NDJSON stream whose first chunk has been answered and whose
// body is not finished): another write answers 503 at once, reads go on, and the slot is free
// again once the stream ends.
func TestInflightWritesCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, limits(config.Limits{MaxInflightWrites: 1}))
	key := e.account("inflight")
	body, w := io.Pipe()
	stop := make(chan struct{})
	go func() { // rows until told to stop: whatever a chunk's size, one gets answered
		defer w.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := io.WriteString(w, "{}\n"); err != nil {
				return
			}
		}
	}()
	req, err := http.NewRequest("POST", e.srv.URL+"/data/customers", body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req) // returns with the first chunk's results: the slot is held
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)

	r := e.do("POST", "/data/data_sources", key, map[string]string{"name": "s"})
	requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	require.Equal(t, 1, requireRetryAfter(t, r))
	require.Equal(t, http.StatusOK, e.do("GET", "/data/data_sources", key, nil).Status, "reads are not capped")

	close(stop)
	_, err = io.Copy(io.Discard, res.Body) // the stream has ended, its slot given back
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	r = e.do("POST", "/data/data_sources", key, map[string]string{"name": "s"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
}

// countedDB opens a database of the test's own, counting every statement run through GORM.
func countedDB(t *testing.T) (*models.DB, *atomic.Int64) {
	t.Helper()
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	n := new(atomic.Int64)
	count := func(*gorm.DB) { n.Add(1) }
	cb := db.Gorm.Callback()
	require.NoError(t, cb.Query().Before("gorm:query").Register("test:count", count))
	require.NoError(t, cb.Row().Before("gorm:row").Register("test:count", count))
	require.NoError(t, cb.Raw().Before("gorm:raw").Register("test:count", count))
	require.NoError(t, cb.Create().Before("gorm:create").Register("test:count", count))
	require.NoError(t, cb.Update().Before("gorm:update").Register("test:count", count))
	require.NoError(t, cb.Delete().Before("gorm:delete").Register("test:count", count))
	return db, n
}

// 1000 requests with one unknown key, 20 at a time, cost at most one key lookup: the negative
// cache (and the sharing of a lookup running) answer the rest without the database.
func TestUnknownKeyFloodDoesNotReachTheDatabase(t *testing.T) {
	t.Parallel()
	db, queries := countedDB(t)
	e := newEnvOn(t, db, noLimits) // no failed-auth limit either: the cache alone must hold
	unknown := "ik_" + strings.Repeat("Z", 43)
	var wg sync.WaitGroup
	statuses := make([]int, 1000)
	for w := range 20 {
		wg.Go(func() {
			for i := w; i < len(statuses); i += 20 {
				r, err := e.send("GET", "/data/data_sources", unknown, nil)
				if err == nil {
					statuses[i] = r.Status
				}
			}
		})
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusUnauthorized, s, "request %d", i)
	}
	require.LessOrEqual(t, queries.Load(), int64(1), "key lookups for 1000 requests with one unknown key")

	key := e.account("flooded") // the counter does see lookups
	before := queries.Load()
	require.Equal(t, http.StatusOK, e.do("GET", "/data/data_sources", key, nil).Status)
	require.Greater(t, queries.Load(), before)
}

// Failed authentications are limited per client address: over the limit, even a new key is refused
// with 429 before any lookup.
func TestFailedAuthLimitedPerAddress(t *testing.T) {
	t.Parallel()
	db, queries := countedDB(t)
	e := newEnvOn(t, db, limits(config.Limits{AuthFailuresPerSecond: 0.01})) // a budget of 1
	key := e.account("victim")
	before := queries.Load()

	r := e.do("GET", "/data/data_sources", "nope", nil)
	requireProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	requireRateHeaders(t, r, 1, 0)
	for i := range 3 {
		r = e.do("GET", "/data/data_sources", fmt.Sprintf("ik_%043d", i), nil)
		requireProblem(t, r, http.StatusTooManyRequests, "rate_limited")
		requireRetryAfter(t, r)
	}
	require.Equal(t, before, queries.Load(), "no lookup once the address is over its budget")
	r = e.do("GET", "/data/data_sources", key, nil)
	requireProblem(t, r, http.StatusTooManyRequests, "rate_limited") // documented: the address waits
}

// Refusals are counted by bucket in Prometheus.
func TestRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.Limits = config.Limits{ReadsPerSecond: 0.01, AuthFailuresPerSecond: 0.01}
	m := telemetry.New()
	s := &api.Server{DB: db, Config: cfg, Log: slog.New(slog.DiscardHandler), Metrics: m}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv}
	key := e.account("counted")
	for _, k := range []string{key, key, "nope", "nope"} { // a failing address waits: reads first
		e.do("GET", "/data/data_sources", k, nil)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Contains(t, rec.Body.String(), `rate_limited_total{bucket="reads"} 1`)
	require.Contains(t, rec.Body.String(), `rate_limited_total{bucket="auth"} 1`)
}
