package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/recalc"
)

// newEnvWithWorkers is an API on its own database with recalculation workers running, whose
// metrics are calculated at the instant now returns.
func newEnvWithWorkers(t *testing.T, now func() time.Time) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := models.Open(ctx, dbtest.NewDatabase(t))
	require.NoError(t, err)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer((&api.Server{DB: db, Config: cfg, Log: log}).Handler())
	pool := recalc.NewPool(db, recalc.Config{Workers: 1, PollInterval: 10 * time.Millisecond, Now: now, Log: log})
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		require.NoError(t, <-done)
		db.Close()
	})
	return &env{t: t, db: db, srv: srv}
}

// freshMetrics waits until the customer's metrics are no longer stale and returns them by currency.
func freshMetrics(t *testing.T, e *env, key, customer string) map[string]map[string]any {
	t.Helper()
	var body map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := e.send("GET", "/data/customers/"+customer+"?source=stripe", key, nil)
		require.NoError(c, err)
		require.Equal(c, http.StatusOK, r.Status, string(r.Body))
		body = r.JSON(c)["result"].(map[string]any)
		assert.Equal(c, false, body["metrics_stale"])
	}, 10*time.Second, 10*time.Millisecond)
	out := map[string]map[string]any{}
	for _, m := range body["metrics"].([]any) {
		mm := m.(map[string]any)
		require.Equal(t, false, mm["stale"])
		out[mm["currency"].(string)] = mm
	}
	return out
}

// The SPEC's examples end to end: write invoices over HTTP, read the recalculated metrics back.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC)
	e := newEnvWithWorkers(t, func() time.Time { return at })
	tn := newTenant(t, e, "metrics")

	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
	m := freshMetrics(t, e, tn.key, "cus_123")["USD"]
	require.EqualValues(t, 9900, m["mrr_cents"])
	require.EqualValues(t, 118800, m["arr_cents"])
	require.EqualValues(t, 9900, m["revenue_cents"])
	require.EqualValues(t, 1, m["invoice_count"])
	require.Equal(t, "active", m["status"])
	require.Equal(t, "2024-07-01T00:00:00Z", m["first_invoice_at"])
	require.Equal(t, "2024-07-15T00:00:00Z", m["calculated_at"])
	require.Equal(t, "none", freshMetrics(t, e, tn.key, "cus_456")["USD"]["status"], "a one-time customer has no MRR")

	t.Run("update with a discount", func(t *testing.T) {
		requireStatuses(t, e.do("POST", "/data/invoices", tn.key, `{"id": "inv_001", "customer_id": "cus_123",
			"data_source": "stripe", "type": "subscription", "date": "2024-07-01", "amount_cents": 9900,
			"discount": 900, "currency": "USD", "start_date": "2024-07-01", "end_date": "2024-08-01"}`), "updated")
		m := freshMetrics(t, e, tn.key, "cus_123")["USD"]
		require.EqualValues(t, 9000, m["mrr_cents"])
		require.EqualValues(t, 9000, m["revenue_cents"])
	})

	t.Run("yearly invoice in another currency", func(t *testing.T) {
		requireStatuses(t, e.do("POST", "/data/invoices", tn.key, `{"id": "inv_y", "customer_id": "cus_123",
			"data_source": "stripe", "type": "subscription", "date": "2024-01-15", "amount_cents": 120000,
			"currency": "eur", "start_date": "2024-01-15", "end_date": "2025-01-15"}`), "inserted")
		ms := freshMetrics(t, e, tn.key, "cus_123")
		require.EqualValues(t, 10000, ms["EUR"]["mrr_cents"])
		require.EqualValues(t, 9000, ms["USD"]["mrr_cents"])
	})

	t.Run("archive and restore", func(t *testing.T) {
		require.Equal(t, http.StatusOK, e.do("DELETE", "/data/invoices/inv_y?source=stripe", tn.key, nil).Status)
		ms := freshMetrics(t, e, tn.key, "cus_123")
		require.NotContains(t, ms, "EUR", "an archived invoice leaves the metrics")
		require.Equal(t, http.StatusOK, e.do("POST", "/data/invoices/inv_y/restore?source=stripe", tn.key, nil).Status)
		require.EqualValues(t, 10000, freshMetrics(t, e, tn.key, "cus_123")["EUR"]["mrr_cents"])
	})

	t.Run("cancellation ends the subscription", func(t *testing.T) {
		requireStatuses(t, e.do("POST", "/data/invoices", tn.key, `{"id": "inv_c", "customer_id": "cus_123",
			"data_source": "stripe", "type": "cancellation", "date": "2024-07-10", "amount_cents": 0,
			"currency": "USD", "start_date": "2024-07-10", "end_date": "2024-07-10"}`), "inserted")
		ms := freshMetrics(t, e, tn.key, "cus_123")
		require.EqualValues(t, 0, ms["USD"]["mrr_cents"])
		require.Equal(t, "churned", ms["USD"]["status"])
		require.EqualValues(t, 0, ms["EUR"]["mrr_cents"], "a cancellation without subscription_id ends all of them")
	})
}
