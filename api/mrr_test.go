package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/recalc"
)

// newHistoryEnv is an API on a database of its own, without workers, and recalculate, which runs a
// recalculation pool at instant at until nothing is queued, then stops it: the test decides when
// metrics and history catch up.
func newHistoryEnv(t *testing.T) (e *env, recalculate func(at time.Time)) {
	t.Helper()
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer((&api.Server{DB: db, Config: cfg, Log: log}).Handler())
	t.Cleanup(func() { srv.Close(); db.Close() })
	e = &env{t: t, db: db, srv: srv}
	return e, func(at time.Time) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		pool := recalc.NewPool(db, recalc.Config{Workers: 1, PollInterval: 5 * time.Millisecond,
			Now: func() time.Time { return at }, Log: log})
		done := make(chan error, 1)
		go func() { done <- pool.Run(ctx) }()
		require.Eventually(t, func() bool {
			var n int
			err := db.SQL.QueryRow(`SELECT (SELECT count(*) FROM recalc_queue) + (SELECT count(*) FROM recalc_outbox)`).Scan(&n)
			return err == nil && n == 0
		}, 20*time.Second, 5*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
	}
}

// result returns the result object of a 200 answer.
func resultOf(t *testing.T, r response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)["result"].(map[string]any)
}

// monthRows renders list entries as "month currency mrr change movement" lines.
func monthRows(list []any) []string {
	out := make([]string, len(list))
	for i, v := range list {
		m := v.(map[string]any)
		out[i] = fmt.Sprintf("%s %s %v %v %v", m["month"], m["currency"], m["mrr_cents"], m["change_cents"], m["movement"])
	}
	return out
}

// subscription is an invoice row of the stripe source.
func subscription(id, customer, currency string, amount int, start, end string) string {
	return fmt.Sprintf(`{"id": %q, "customer_id": %q, "data_source": "stripe", "type": "subscription",
		"date": %q, "amount_cents": %d, "currency": %q, "start_date": %q, "end_date": %q}`,
		id, customer, start, amount, currency, start, end)
}

// The three routes over HTTP: shapes, defaults, errors, and history following a write.
func TestMRRRoutes(t *testing.T) {
	t.Parallel()
	e, recalculate := newHistoryEnv(t)
	tn := newTenant(t, e, "mrr")
	at := time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, "["+
		subscription("i1", "cus_123", "USD", 3000, "2024-01-01", "2024-04-01")+","+
		subscription("i2", "cus_123", "USD", 4000, "2024-04-01", "2024-08-01")+","+
		subscription("i3", "cus_456", "EUR", 1200, "2024-03-01", "2024-05-01")+"]"), "inserted", "inserted", "inserted")
	res := resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&to=2024-07", tn.key, nil))
	require.Equal(t, true, res["stale"], "queued, not calculated yet")
	require.Empty(t, res["list"])
	recalculate(at)

	res = resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&from=2023-06&to=2024-07", tn.key, nil))
	require.Equal(t, false, res["stale"])
	require.Equal(t, "cus_123", res["customer_id"])
	require.Equal(t, []string{"2024-01 USD 1000 1000 new", "2024-02 USD 1000 0 <nil>", "2024-03 USD 1000 0 <nil>",
		"2024-04 USD 1000 0 <nil>", "2024-05 USD 1000 0 <nil>", "2024-06 USD 1000 0 <nil>", "2024-07 USD 1000 0 <nil>"},
		monthRows(res["list"].([]any)))
	res = resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source="+tn.sourceID+"&from=2024-06&to=2024-06", tn.key, nil))
	require.Equal(t, []string{"2024-06 USD 1000 0 <nil>"}, monthRows(res["list"].([]any)))
	res = resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe", tn.key, nil))
	list := res["list"].([]any)
	require.Equal(t, time.Now().UTC().Format("2006-01"), list[len(list)-1].(map[string]any)["month"], "to defaults to the current month")

	t.Run("history follows writes", func(t *testing.T) {
		requireStatuses(t, e.do("POST", "/data/invoices", tn.key, subscription("i1", "cus_123", "USD", 6000, "2024-01-01", "2024-04-01")), "updated")
		res := resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&to=2024-04", tn.key, nil))
		require.Equal(t, true, res["stale"])
		require.Equal(t, "2024-01 USD 1000 1000 new", monthRows(res["list"].([]any))[0], "old history until recalculated")
		require.EqualValues(t, 1, resultOf(t, e.do("GET", "/data/mrr?to=2024-04", tn.key, nil))["stale_customers"])
		recalculate(at)
		res = resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&to=2024-04", tn.key, nil))
		require.Equal(t, false, res["stale"])
		require.Equal(t, []string{"2024-01 USD 2000 2000 new", "2024-02 USD 2000 0 <nil>", "2024-03 USD 2000 0 <nil>",
			"2024-04 USD 1000 -1000 contraction"}, monthRows(res["list"].([]any)))
	})

	t.Run("bridge", func(t *testing.T) {
		res := resultOf(t, e.do("GET", "/data/mrr?from=2024-02&to=2024-05&currency=eur", tn.key, nil))
		require.EqualValues(t, 0, res["stale_customers"])
		var got []string
		for _, v := range res["list"].([]any) {
			m := v.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %v %v %v %v", m["month"], m["currency"], m["mrr_cents"], m["customers"], m["new_cents"], m["churn_cents"]))
		}
		require.Equal(t, []string{"2024-03 EUR 600 1 600 0", "2024-04 EUR 600 1 0 0", "2024-05 EUR 0 0 0 -600"}, got)
		all := resultOf(t, e.do("GET", "/data/mrr?source=stripe&to=2024-07", tn.key, nil))["list"].([]any)
		require.Equal(t, "2024-01", all[0].(map[string]any)["month"], "from defaults to the first month with history")
	})

	t.Run("totals", func(t *testing.T) {
		res := resultOf(t, e.do("GET", "/data/metrics", tn.key, nil))
		require.Equal(t, "2024-07-15T00:00:00Z", res["calculated_at"])
		require.EqualValues(t, 0, res["stale_customers"])
		require.Equal(t, []any{
			map[string]any{"currency": "EUR", "mrr_cents": 0.0, "arr_cents": 0.0, "revenue_cents": 1200.0, "customers": 1.0,
				"active_customers": 0.0, "churned_customers": 1.0},
			map[string]any{"currency": "USD", "mrr_cents": 1000.0, "arr_cents": 12000.0, "revenue_cents": 10000.0,
				"customers": 1.0, "active_customers": 1.0, "churned_customers": 0.0},
		}, res["list"])
		require.Equal(t, res, resultOf(t, e.do("GET", "/data/metrics?source=stripe", tn.key, nil)))
	})

	t.Run("another account sees nothing", func(t *testing.T) {
		other := newTenant(t, e, "other")
		res := resultOf(t, e.do("GET", "/data/metrics", other.key, nil))
		require.Nil(t, res["calculated_at"])
		require.Empty(t, res["list"])
		require.Empty(t, resultOf(t, e.do("GET", "/data/mrr?from=2024-01&to=2024-07", other.key, nil))["list"])
		requireProblem(t, e.do("GET", "/data/mrr?source="+tn.sourceID, other.key, nil), http.StatusNotFound, "not_found")
		res = resultOf(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&to=2024-07", other.key, nil))
		require.Empty(t, res["list"], "the other account's own cus_123 has no invoices")
	})

	t.Run("errors", func(t *testing.T) {
		for _, q := range []string{"from=2024-13", "to=24-01", "from=2024-05&to=2024-04", "from=1950-01&to=2024-01",
			"to=2024-01-01", "from=x"} {
			requireProblem(t, e.do("GET", "/data/customers/cus_123/mrr?source=stripe&"+q, tn.key, nil), http.StatusBadRequest, "invalid_request")
			requireProblem(t, e.do("GET", "/data/mrr?"+q, tn.key, nil), http.StatusBadRequest, "invalid_request")
		}
		requireProblem(t, e.do("GET", "/data/mrr?currency=dollars", tn.key, nil), http.StatusBadRequest, "invalid_request")
		requireProblem(t, e.do("GET", "/data/customers/cus_123/mrr", tn.key, nil), http.StatusBadRequest, "invalid_request")
		requireProblem(t, e.do("GET", "/data/customers/nobody/mrr?source=stripe", tn.key, nil), http.StatusNotFound, "not_found")
		requireProblem(t, e.do("GET", "/data/customers/cus_123/mrr?source=nope", tn.key, nil), http.StatusNotFound, "not_found")
		requireProblem(t, e.do("GET", "/data/metrics?source=nope", tn.key, nil), http.StatusNotFound, "not_found")
		requireProblem(t, e.do("GET", "/data/metrics", "", nil), http.StatusUnauthorized, "unauthenticated")
		res := resultOf(t, e.do("GET", "/data/mrr?from=1974-08&to=2024-07", tn.key, nil))
		require.NotEmpty(t, res["list"], "600 months is the most, and allowed")
	})
}

// Customer lists carry metrics, and the status filter pages exactly.
func TestCustomerListStatusFilter(t *testing.T) {
	t.Parallel()
	e, recalculate := newHistoryEnv(t)
	tn := newTenant(t, e, "status")
	var customers, invoices []string
	want := map[string][]string{"none": {"cus_123", "cus_456"}} // newTenant's, without invoices
	for i := range 23 {
		id := fmt.Sprintf("c%02d", i)
		customers = append(customers, fmt.Sprintf(`{"id": %q, "data_source": "stripe"}`, id))
		switch i % 3 {
		case 0: // active
			invoices = append(invoices, subscription("a"+id, id, "USD", 1000, "2024-07-01", "2024-08-01"))
			want["active"] = append(want["active"], id)
		case 1: // churned in USD, active in EUR for some
			invoices = append(invoices, subscription("a"+id, id, "USD", 1000, "2024-05-01", "2024-06-01"))
			want["churned"] = append(want["churned"], id)
			if i%2 == 1 {
				invoices = append(invoices, subscription("b"+id, id, "EUR", 1000, "2024-07-01", "2024-08-01"))
				want["active"] = append(want["active"], id)
			}
		default: // no invoices
			want["none"] = append(want["none"], id)
		}
	}
	rowResults(t, e.do("POST", "/data/customers", tn.key, "["+strings.Join(customers, ",")+"]"))
	rowResults(t, e.do("POST", "/data/invoices", tn.key, "["+strings.Join(invoices, ",")+"]"))
	recalculate(time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC))
	for _, status := range []string{"active", "churned", "none"} {
		for _, limit := range []int{1, 2, 5, 100} {
			var got []string
			cursor := ""
			for {
				page := resultOf(t, e.do("GET", fmt.Sprintf("/data/customers?source=stripe&status=%s&limit=%d&cursor=%s",
					strings.ToUpper(status), limit, cursor), tn.key, nil))
				for _, c := range page["list"].([]any) {
					cm := c.(map[string]any)
					got = append(got, cm["id"].(string))
					require.Equal(t, false, cm["metrics_stale"])
				}
				require.LessOrEqual(t, len(page["list"].([]any)), limit)
				if page["has_more"] != true {
					require.Nil(t, page["next_cursor"])
					break
				}
				cursor = page["next_cursor"].(string)
			}
			require.Equal(t, sortedIDs(want[status]), got, "status %s, limit %d", status, limit)
		}
	}
	requireProblem(t, e.do("GET", "/data/customers?source=stripe&status=gone", tn.key, nil), http.StatusBadRequest, "invalid_request")
	requireProblem(t, e.do("GET", "/data/customers?source=stripe&status=active&cursor=zzz", tn.key, nil), http.StatusBadRequest, "invalid_request")
}

// sortedIDs sorts ids byte-wise, as lists are ordered.
func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
