package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/internal/scratch"
	"invoice-ingest/models/dbtest"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// onFreeAddrs calls start with n loopback addresses free a moment ago and returns them once this
// process listens on every one and ready says so. Another process (the test packages run in
// parallel, starting servers) may take such an address before the command binds it: the command
// then returns first, on the channel start gave, and start is called again with new addresses (3
// times at most).
func onFreeAddrs(t *testing.T, n int, start func(addrs []string) <-chan error, ready func(addrs []string) bool) []string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = freeAddr(t)
		}
		done := start(addrs)
		if ok := awaitReady(t, done, func() bool {
			return ready(addrs) && !slices.ContainsFunc(addrs, func(a string) bool { return !scratch.Listening(os.Getpid(), a) })
		}); ok {
			return addrs
		}
		require.Less(t, attempt, 3, "the command returned before it was ready, %d times", attempt)
	}
}

// awaitReady polls ready until it holds (true) or the command's result arrives on done (false),
// for at most 10 s.
func awaitReady(t *testing.T, done <-chan error, ready func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case err := <-done:
			t.Logf("the command returned before it was ready: %v", err)
			return false
		case <-time.After(20 * time.Millisecond):
		}
		require.False(t, time.Now().After(deadline), "not ready after 10 s")
	}
	return true
}

// serve on METRICS_ADDR exposes every metric of SPEC section 7, and they move with the traffic.
func TestServeExposesMetrics(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	out, err := cli(t, url, "accounts", "create", "--name", "metrics")
	require.NoError(t, err)
	var acc struct {
		APIKey string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &acc))
	var stop context.CancelFunc
	var done chan error
	addrs := onFreeAddrs(t, 2, func(addrs []string) <-chan error {
		var ctx context.Context
		ctx, stop = context.WithCancel(context.Background())
		done = make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", addrs[0]}, func(k string) (string, bool) {
				v, ok := map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error", "METRICS_ADDR": addrs[1]}[k]
				return v, ok
			}, io.Discard, io.Discard)
		}()
		return done
	}, func(addrs []string) bool { return healthy("http://" + addrs[0]) })
	addr, metricsAddr := addrs[0], addrs[1]
	defer func() { stop(); require.NoError(t, <-done) }()

	base := "http://" + addr
	post := func(c *assert.CollectT, path, body string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+acc.APIKey)
		res, err := http.DefaultClient.Do(req)
		require.NoError(c, err)
		res.Body.Close()
		require.Less(c, res.StatusCode, 300)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		post(c, "/data/data_sources", `{"name": "s"}`)
	}, 10*time.Second, 20*time.Millisecond, "the server starts")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		post(c, "/data/customers", `{"id": "c", "data_source": "s"}`)
		post(c, "/data/invoices", `{"id": "i", "customer_id": "c", "data_source": "s", "type": "one-time",
			"date": "2024-01-01", "amount_cents": 100, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`)
	}, 10*time.Second, 20*time.Millisecond)

	scrape := func(c require.TestingT) string {
		res, err := http.Get("http://" + metricsAddr + "/metrics")
		require.NoError(c, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(c, err)
		return string(b)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Contains(c, scrape(c), `invoice_ingest_recalc_customers_total{result="ok"} 1`)
	}, 10*time.Second, 20*time.Millisecond, "the invoice's customer is recalculated")
	text := scrape(t)
	for _, want := range []string{
		`invoice_ingest_http_requests_total{code="201",method="POST",route="/data/data_sources"}`,
		`invoice_ingest_http_request_duration_seconds_bucket{method="POST",route="/data/invoices",le=`,
		`invoice_ingest_rows_total{entity="invoices",status="inserted"} 1`,
		`invoice_ingest_rows_total{entity="customers",status="inserted"} 1`,
		`invoice_ingest_rate_limited_total{bucket="writes"}`,
		`invoice_ingest_recalc_queue_depth `,
		`invoice_ingest_recalc_oldest_pending_seconds `,
		`invoice_ingest_webhook_deliveries_total{result="delivered"}`,
		`invoice_ingest_db_connections{state="in_use"}`,
		`invoice_ingest_db_connections{state="max_open"} 20`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		require.Contains(t, text, want)
	}
}
