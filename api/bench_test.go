package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkUpsertHTTP posts 1000-row JSON requests through the real router and HTTP stack: the
// Go side of the write path (body, parse, validate, hash, statements, response), for profiling.
func BenchmarkUpsertHTTP(b *testing.B) {
	e := newEnv(b, noLimits) // a benchmark sends more rows than the default rate limit lets through
	tn := newTenant(b, e, "bench-http")
	body := func(prefix string, amount int) string {
		rows := make([]string, 1000)
		for i := range rows {
			rows[i] = fmt.Sprintf(`{"id": "%s-%d", "customer_id": "cus_%d", "data_source": "stripe", "type": "subscription",
				"date": "2024-07-01T00:00:00Z", "amount_cents": %d, "currency": "USD", "plan_id": "plan_123",
				"subscription_id": "sub_%d", "start_date": "2024-07-01T00:00:00Z", "end_date": "2024-08-01T00:00:00Z", "quantity": 1}`,
				prefix, i, 123+333*(i%2), amount, i)
		}
		return "[" + strings.Join(rows, ",") + "]"
	}
	post := func(b *testing.B, s string) {
		// send, not do: do would fail the parent benchmark, which this sub-benchmark does not run on.
		r, err := e.send("POST", "/data/invoices", tn.key, s)
		require.NoError(b, err)
		require.Equal(b, http.StatusOK, r.Status)
	}
	b.Run("unchanged", func(b *testing.B) {
		s := body("u", 100)
		post(b, s)
		for b.Loop() {
			post(b, s)
		}
		b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("update", func(b *testing.B) {
		bodies := []string{body("p", 100), body("p", 200)}
		post(b, bodies[1])
		for i := 0; b.Loop(); i++ {
			post(b, bodies[i%2])
		}
		b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("insert", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			s := body(fmt.Sprintf("i%d", i), 100)
			b.StartTimer()
			post(b, s)
		}
		b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
