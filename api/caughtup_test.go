package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/recalc"
)

// startWorkers runs a recalculation pool over e's database until the test ends.
func startWorkers(t *testing.T, e *env) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool := recalc.NewPool(e.db, recalc.Config{Workers: 1, PollInterval: 5 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
}

// invoiceRows writes n invoices for each of customers, NDJSON or JSON array items.
func invoiceRows(customers []string, n int, sep string) string {
	var rows []string
	for _, c := range customers {
		for i := range n {
			rows = append(rows, fmt.Sprintf(`{"id": "%s_%d", "customer_id": "%s", "data_source": "stripe", "type": "subscription", "date": "2024-07-01", "amount_cents": %d, "currency": "usd", "start_date": "2024-07-01", "end_date": "2024-08-01"}`,
				c, i, c, 1000+i))
		}
	}
	return strings.Join(rows, sep)
}

// An invoices import for N customers is pending N while no worker runs, and 0 once workers
// computed them all, caught up no earlier than the last of their calculations.
func TestImportMetricsCaughtUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "caughtup")
	customers := []string{"cus_123", "cus_456"}
	for i := range 3 {
		id := fmt.Sprintf("cus_%d", i)
		requireStatuses(t, e.do("POST", "/data/customers", tn.key, `{"id": "`+id+`", "data_source": "stripe"}`), "inserted")
		customers = append(customers, id)
	}
	cust := e.do("POST", "/data/customers", tn.key, `{"id": "cus_x", "data_source": "stripe"}`)
	ci := e.importOf(tn.key, cust)
	require.Equal(t, map[string]any{"customers": 0.0, "pending": 0.0, "caught_up_at": ci["finished_at"]}, ci["metrics"])

	r := e.do("POST", "/data/invoices", tn.key, "["+invoiceRows(customers, 2, ",")+"]")
	require.Len(t, rowResults(t, r), 10)
	m := e.importOf(tn.key, r)["metrics"].(map[string]any)
	require.Equal(t, map[string]any{"customers": 5.0, "pending": 5.0, "caught_up_at": nil}, m, "no worker runs")

	// A stream whose chunks name the same customers again: merged into one pending each.
	lines, sr := ndjson(t, e, "/data/invoices", tn.key, invoiceRows(customers[:3], 700, "\n"))
	t.Log(lines[len(lines)-1])
	// chunks of 1000 rows: {cus_123, cus_456}, {cus_456, cus_0}, {cus_0}
	require.EqualValues(t, 5, e.importOf(tn.key, sr)["metrics"].(map[string]any)["pending"], "nothing folded yet: each chunk's customers")

	startWorkers(t, e)
	var caught time.Time
	for _, imp := range []response{r, sr} {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			g, err := e.send("GET", "/data/imports/"+imp.Header.Get("Import-Id"), tn.key, nil)
			require.NoError(c, err)
			m := g.JSON(c)["result"].(map[string]any)["metrics"].(map[string]any)
			require.EqualValues(c, 0, m["pending"])
			require.NotNil(c, m["caught_up_at"])
			at, err := time.Parse(time.RFC3339Nano, m["caught_up_at"].(string))
			require.NoError(c, err)
			caught = at
		}, 20*time.Second, 10*time.Millisecond)
	}
	before := e.importOf(tn.key, sr)["metrics"]
	require.EqualValues(t, 3, before.(map[string]any)["customers"], "merged chunks count once")
	// Compacting the appended progress rows changes no reading.
	require.NoError(t, recalc.ForgetProgress(t.Context(), e.db.Gorm, time.Time{}))
	require.EqualValues(t, 1, e.count(`SELECT count(*) FROM recalc_import_progress WHERE import_id = ?`, sr.Header.Get("Import-Id")))
	require.Equal(t, before, e.importOf(tn.key, sr)["metrics"])
	for _, c := range customers[:3] {
		for _, mm := range freshMetrics(t, e, tn.key, c) {
			calc, err := time.Parse(time.RFC3339Nano, mm["calculated_at"].(string))
			require.NoError(t, err)
			require.False(t, caught.Before(calc), "caught up at %s, %s calculated at %s", caught, c, calc)
		}
	}
	require.Equal(t, http.StatusOK, r.Status)
}

// An invoice moved to another customer queues its previous customer too (the write path); the
// import that moved it counts both customers, so it is not caught up before the previous
// customer's metrics, which lost the invoice, are recalculated.
func TestImportThatMovesAnInvoiceCountsThePreviousCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "moved")
	for _, id := range []string{"cus_a", "cus_b"} {
		requireStatuses(t, e.do("POST", "/data/customers", tn.key, `{"id": "`+id+`", "data_source": "stripe"}`), "inserted")
	}
	invoice := func(customer string) string {
		return `[{"id": "inv_m", "customer_id": "` + customer + `", "data_source": "stripe", "type": "subscription",
			"date": "2024-07-01", "amount_cents": 1000, "currency": "usd", "start_date": "2024-07-01", "end_date": "2024-08-01"}]`
	}
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, invoice("cus_a")), "inserted")
	moved := e.do("POST", "/data/invoices", tn.key, invoice("cus_b"))
	requireStatuses(t, moved, "updated")
	m := e.importOf(tn.key, moved)["metrics"].(map[string]any)
	require.Equal(t, map[string]any{"customers": 2.0, "pending": 2.0, "caught_up_at": nil}, m,
		"cus_b, and cus_a which lost the invoice; no worker runs")

	startWorkers(t, e)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		g, err := e.send("GET", "/data/imports/"+moved.Header.Get("Import-Id"), tn.key, nil)
		require.NoError(c, err)
		m := g.JSON(c)["result"].(map[string]any)["metrics"].(map[string]any)
		require.EqualValues(c, 0, m["pending"])
		require.NotNil(c, m["caught_up_at"])
	}, 20*time.Second, 10*time.Millisecond)
	for _, mm := range freshMetrics(t, e, tn.key, "cus_a") {
		require.EqualValues(t, 0, mm["revenue_cents"], "cus_a's metrics no longer count the moved invoice")
	}
}
