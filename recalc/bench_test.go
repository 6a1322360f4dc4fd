package recalc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkRecalc drains a queue of 5,000 customers with 10 invoices each (a year of monthly
// subscription invoices, a one-time invoice and a refund), pre-inserted with plain SQL, and reports
// customers/s. Sub-benchmarks vary the batch size and how many workers drain concurrently (each
// worker claims and processes batches back to back, as Run's workers do). Every iteration after the
// first replaces existing metrics, as recalculation in production does.
//
//	go test -run='^$' -bench=BenchmarkRecalc -benchtime=3x ./recalc/
func BenchmarkRecalc(b *testing.B) {
	const customers, perCustomer = 5000, 10
	db := newDB(b)
	f := newFixture(b, db)
	ctx := context.Background()
	_, err := db.SQL.ExecContext(ctx, `
		INSERT INTO customers (account_id, source_id, id, content_hash, created_at, updated_at)
		SELECT $1, $2, 'cus_' || c, '\x00', now(), now() FROM generate_series(1, $3::int) c`,
		f.account.String(), f.source.String(), customers)
	require.NoError(b, err)
	_, err = db.SQL.ExecContext(ctx, `
		INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
		    subscription_id, start_date, end_date, discount, content_hash, created_at, updated_at)
		SELECT $1, $2, 'inv_' || c || '_' || g, 'cus_' || c,
		       CASE g WHEN $4 THEN 'refund' WHEN $4 - 1 THEN 'one-time' ELSE 'subscription' END,
		       s, 1000 + c % 97, CASE WHEN c % 10 = 0 AND g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
		       'sub_' || c, s, s + interval '1 month', CASE WHEN g % 3 = 0 THEN 100 END, '\x00', now(), now()
		FROM generate_series(1, $3::int) c, generate_series(1, $4::int) g,
		     LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00' + (g - 1) * interval '1 month' AS s) d`,
		f.account.String(), f.source.String(), customers, perCustomer)
	require.NoError(b, err)
	_, err = db.SQL.ExecContext(ctx, `ANALYZE`)
	require.NoError(b, err)
	keys := make([]CustomerKey, customers)
	for i := range keys {
		keys[i] = f.key(fmt.Sprintf("cus_%d", i+1))
	}

	for _, batch := range []int{250, 500, 1000} {
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("batch=%d/workers=%d", batch, workers), func(b *testing.B) {
				cfg := testConfig(func() time.Time { return day(b, "2024-06-15") })
				cfg.BatchSize = batch
				p := NewPool(db, cfg)
				var elapsed time.Duration
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					enqueue(b, db, keys...)
					b.StartTimer()
					start := time.Now()
					var wg sync.WaitGroup
					for range workers {
						wg.Go(func() { drain(b, p) })
					}
					wg.Wait()
					elapsed += time.Since(start)
				}
				b.StopTimer()
				require.Zero(b, count(b, db, `SELECT count(*) FROM recalc_queue`))
				require.Equal(b, customers+customers/10, count(b, db, `SELECT count(*) FROM customer_metrics`))
				b.ReportMetric(float64(customers*b.N)/elapsed.Seconds(), "customers/s")
			})
		}
	}
}
