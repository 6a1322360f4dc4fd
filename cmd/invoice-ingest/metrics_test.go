package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
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
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr}, func(k string) (string, bool) {
			v, ok := map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error", "METRICS_ADDR": metricsAddr}[k]
			return v, ok
		}, io.Discard, io.Discard)
	}()
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
