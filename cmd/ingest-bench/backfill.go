package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// backfillMonths is how many monthly invoices each backfill customer gets.
const backfillMonths = 36

// seedBackfillSQL adds -recalc-backfill customers with 36 consecutive monthly subscription
// invoices each, ending with the current month: the shape of a three-year import from a billing
// system. Amounts step up every year for a third of the customers (expansions), a tenth pause for
// four months (churn, then reactivation) and a tenth bill in EUR. Plain SQL, as seedRecalcSQL.
var seedBackfillSQL = []string{`
INSERT INTO customers (account_id, source_id, id, content_hash, created_at, updated_at)
SELECT $1, $2, 'bf_' || c, '\x00', now(), now() FROM generate_series(1, $3::int) c`, `
INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
    subscription_id, start_date, end_date, content_hash, created_at, updated_at)
SELECT $1, $2, 'bf_inv_' || c || '_' || g, 'bf_' || c, 'subscription', s,
       1000 + c % 97 + (g / 12) * 100 * (c % 3), CASE WHEN c % 10 = 3 THEN 'EUR' ELSE 'USD' END,
       'sub_bf_' || c, s, s + interval '1 month', '\x00', now(), now()
FROM generate_series(1, $3::int) c, generate_series(0, $4::int - 1) g,
     LATERAL (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                     - ($4::int - 1 - g) * interval '1 month' AS s) d
WHERE NOT (c % 10 = 7 AND g BETWEEN 10 AND 13)`, `
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT $1, $2, 'bf_' || c FROM generate_series(1, $3::int) c
ON CONFLICT DO NOTHING`}

// backfillResult is the backfill drain and the GET /data/mrr latencies measured over its history.
type backfillResult struct {
	drain     result
	customers int // customers of the account with history
	mrr       []time.Duration
}

// runBackfill seeds the backfill set, times its recalculation (metrics and 36 months of history
// per customer) with the worker command, then times GET /data/mrr over the 36 months for the
// whole account through the e2e server (-mrr-requests requests, one at a time, after two
// untimed ones).
func (b *bench) runBackfill(ctx context.Context, srv *server) error {
	n := b.cfg.recalcBackfill
	if n == 0 {
		return nil
	}
	b.log("backfill: seeding %d customers with %d monthly invoices each", n, backfillMonths)
	for _, q := range seedBackfillSQL {
		args := []any{[16]byte(b.account), [16]byte(b.source), n, backfillMonths}
		if !strings.Contains(q, "$4") {
			args = args[:3]
		}
		if _, err := b.pool.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if _, err := b.pool.Exec(ctx, "ANALYZE invoices"); err != nil {
		return err
	}
	queued, d, err := b.drain(ctx)
	if err != nil {
		return err
	}
	r := &backfillResult{drain: result{method: "recalc", pass: "backfill", rows: queued, dur: d,
		note: fmt.Sprintf("%d monthly invoices per customer, RECALC_WORKERS=%d", backfillMonths, b.cfg.recalcWorkers)}}
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE customer_mrr_history"); err != nil {
		return err
	}
	if err := b.pool.QueryRow(ctx, "SELECT count(DISTINCT (source_id, customer_id)) FROM customer_mrr_history").Scan(&r.customers); err != nil {
		return err
	}
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	path := "/data/mrr?from=" + to.AddDate(0, -(backfillMonths-1), 0).Format("2006-01") + "&to=" + to.Format("2006-01")
	for i := -2; i < b.cfg.mrrRequests; i++ {
		start := time.Now()
		if err := srv.getOK(ctx, path); err != nil {
			return err
		}
		if i >= 0 {
			r.mrr = append(r.mrr, time.Since(start))
		}
	}
	b.backfill = r
	b.log("  backfill drain: %d customers in %.3f s; GET %s median %.1f ms", queued, d.Seconds(), path, r.quantile(0.5))
	return nil
}

// quantile returns the q-quantile of the GET /data/mrr latencies in milliseconds.
func (r *backfillResult) quantile(q float64) float64 {
	if len(r.mrr) == 0 {
		return 0
	}
	d := slices.Clone(r.mrr)
	slices.Sort(d)
	return float64(d[min(int(q*float64(len(d))), len(d)-1)].Microseconds()) / 1000
}

// report prints the backfill lines.
func (r *backfillResult) report(stdout io.Writer) {
	d := r.drain
	fmt.Fprintf(stdout, "Recalc backfill: %d customers x %d monthly invoices drained in %.3f s: %.0f customers/s (%s)\n",
		d.rows, backfillMonths, d.dur.Seconds(), d.rate(), d.note)
	fmt.Fprintf(stdout, "GET /data/mrr: %d months over %d customers with history, %d requests: median %.1f ms, p95 %.1f ms, max %.1f ms (target < 200 ms: %s)\n",
		backfillMonths, r.customers, len(r.mrr), r.quantile(0.5), r.quantile(0.95), r.quantile(1), verdict(r.quantile(0.5) < 200))
}

// getOK sends a GET with the API key and fails unless it answers 200.
func (s *server) getOK(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return nil
}
