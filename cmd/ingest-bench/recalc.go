package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// recalcInvoicesPerCustomer is how many invoices each seeded customer gets.
const recalcInvoicesPerCustomer = 10

// seedRecalcSQL adds -recalc-customers customers with 10 invoices each (a monthly subscription
// through the year, a one-time invoice, a refund; a tenth of the customers in two currencies), as
// recalc's own benchmark does, all in plain SQL: what is measured is the drain, not this load.
var seedRecalcSQL = []string{`
INSERT INTO customers (account_id, source_id, id, content_hash, created_at, updated_at)
SELECT $1, $2, 'rc_' || c, '\x00', now(), now() FROM generate_series(1, $3::int) c`, `
INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
    subscription_id, start_date, end_date, discount, content_hash, created_at, updated_at)
SELECT $1, $2, 'rc_inv_' || c || '_' || g, 'rc_' || c,
       CASE g WHEN $4 THEN 'refund' WHEN $4 - 1 THEN 'one-time' ELSE 'subscription' END,
       s, 1000 + c % 97, CASE WHEN c % 10 = 0 AND g % 2 = 0 THEN 'EUR' ELSE 'USD' END,
       'sub_rc_' || c, s, s + interval '1 month', CASE WHEN g % 3 = 0 THEN 100 END, '\x00', now(), now()
FROM generate_series(1, $3::int) c, generate_series(1, $4::int) g,
     LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + (g - 1) * interval '1 month' AS s) d`, `
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT $1, $2, 'rc_' || c FROM generate_series(1, $3::int) c
ON CONFLICT DO NOTHING`}

// runRecalc measures the recalculation drain rate. After the e2e passes the queue holds the
// customers those passes touched; -recalc-customers more are seeded and queued, then the
// binary's `worker` command (RECALC_WORKERS=-recalc-workers) is started, and the clock runs
// from its start (process start-up included, nothing subtracted) until the queue is empty.
func (b *bench) runRecalc(ctx context.Context) error {
	if n := b.cfg.recalcCustomers; n > 0 {
		accounts := min(b.cfg.recalcAccounts, n)
		b.log("recalc: seeding %d customers with %d invoices each, over %d accounts", n, recalcInvoicesPerCustomer, accounts)
		if err := b.seedRecalc(ctx, n, accounts); err != nil {
			return err
		}
	}
	queued, d, err := b.drain(ctx)
	if err != nil {
		return err
	}
	b.recalc = &result{method: "recalc", pass: "drain", rows: queued, dur: d, cpu: b.drainCPU,
		note: fmt.Sprintf("worker, RECALC_WORKERS=%d, %d accounts; clock includes process start",
			b.cfg.recalcWorkers, min(b.cfg.recalcAccounts, max(b.cfg.recalcCustomers, 1)))}
	return nil
}

// seedRecalc seeds n customers spread over accounts accounts: the bench's own first, then
// accounts-1 more made here (account and data source rows in plain SQL, like the rest).
func (b *bench) seedRecalc(ctx context.Context, n, accounts int) error {
	for i := range accounts {
		account, source := b.account, b.source
		if i > 0 {
			account, source = uuid.New(), uuid.New()
			if _, err := b.pool.Exec(ctx, `INSERT INTO accounts (id, name) VALUES ($1, 'recalc bench')`, [16]byte(account)); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			if _, err := b.pool.Exec(ctx, `INSERT INTO data_sources (account_id, id, name) VALUES ($1, $2, 'recalc')`,
				[16]byte(account), [16]byte(source)); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		// This account's share: n/accounts, the first n%accounts accounts one more.
		share := n/accounts + min(1, max(0, n%accounts-i))
		args := []any{[16]byte(account), [16]byte(source), share, recalcInvoicesPerCustomer}
		for _, q := range seedRecalcSQL {
			// Only the invoices statement takes $4.
			nargs := 3
			if strings.Contains(q, "$4") {
				nargs = 4
			}
			if _, err := b.pool.Exec(ctx, q, args[:nargs]...); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
	}
	return nil
}

// drain starts the binary's worker command and times it until nothing is pending (metrics and
// monthly history written), then checks every drained customer has metrics.
func (b *bench) drain(ctx context.Context) (queued int, d time.Duration, err error) {
	if _, err := b.pool.Exec(ctx, "ANALYZE customers"); err != nil {
		return 0, 0, err
	}
	if err := b.settle(ctx); err != nil {
		return 0, 0, err
	}
	if queued, err = b.pendingCustomers(ctx); err != nil {
		return 0, 0, err
	}
	b.log("recalc: draining %d queued customers with RECALC_WORKERS=%d", queued, b.cfg.recalcWorkers)
	start, c0 := time.Now(), cpuNow(0, b.dbName)
	w, err := b.startChild([]string{"worker"}, "RECALC_WORKERS="+strconv.Itoa(b.cfg.recalcWorkers))
	if err != nil {
		return 0, 0, err
	}
	defer w.stop()
	if err := b.waitDrained(ctx, w, queued); err != nil {
		return 0, 0, err
	}
	d = time.Since(start)
	// The worker's CPU is read while it still runs (an exited process has no /proc entry).
	b.drainCPU = cpuNow(w.pid(), b.dbName).sub(c0)
	w.stop()
	// Every drained customer must have metrics: a drain that only deleted rows proves nothing.
	var withMetrics int
	if err := b.pool.QueryRow(ctx, "SELECT count(DISTINCT (source_id, customer_id)) FROM customer_metrics").Scan(&withMetrics); err != nil {
		return 0, 0, err
	}
	if withMetrics < queued {
		return 0, 0, fmt.Errorf("%d customers drained but only %d have metrics", queued, withMetrics)
	}
	return queued, d, nil
}

// waitDrained polls until the queue and outbox are empty. The poll shares the machine with the
// drain it measures, so it is cheap: whether any row is left, every 20 ms (small next to a drain
// of seconds), and how many, for the stuck check, once a second (a count(*) every 20 ms cost
// PostgreSQL about 5% of a one-account drain's CPU, by pg_stat_statements).
func (b *bench) waitDrained(ctx context.Context, w *child, queued int) error {
	last, lastChange, counted := queued, time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if done, err := w.exited(); done {
			return fmt.Errorf("worker exited with customers queued: %v", err)
		}
		var pending bool
		if err := b.pool.QueryRow(ctx, pendingSQL).Scan(&pending); err != nil {
			return err
		}
		if !pending {
			return nil
		}
		if time.Since(counted) < time.Second {
			continue
		}
		left, err := b.queueLength(ctx)
		if err != nil {
			return err
		}
		counted = time.Now()
		if left < last {
			last, lastChange = left, time.Now()
		} else if time.Since(lastChange) > 60*time.Second {
			var attempts int
			var lastErr *string
			_ = b.pool.QueryRow(ctx, "SELECT max(attempts), max(last_error) FROM recalc_queue").Scan(&attempts, &lastErr)
			return fmt.Errorf("queue stuck at %d customers for 60 s (max attempts %d, last error %v)", left, attempts, deref(lastErr))
		}
	}
}

// pendingSQL tells whether anything is left to drain: a queue or outbox row. The queue's index
// on (account_id, run_at) answers without reading the rows the drain deleted from the table's
// first pages (the index marks them dead once visited).
const pendingSQL = `SELECT EXISTS (SELECT 1 FROM recalc_queue ORDER BY account_id, run_at LIMIT 1)
    OR EXISTS (SELECT 1 FROM recalc_outbox)`

// pendingCustomers counts the distinct customers waiting for recalculation: queued, or named by
// outbox rows (writes the workers have not folded into the queue yet).
func (b *bench) pendingCustomers(ctx context.Context) (int, error) {
	var n int
	err := b.pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT account_id, source_id, customer_id FROM recalc_queue
		UNION SELECT o.account_id, o.source_id, c FROM recalc_outbox o, unnest(o.customer_ids) AS c) p`).Scan(&n)
	return n, err
}

// queueLength is cheaper than pendingCustomers, for the stuck check: queue rows plus outbox rows,
// zero exactly when nothing is pending.
func (b *bench) queueLength(ctx context.Context) (int, error) {
	var n int
	err := b.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM recalc_queue) + (SELECT count(*) FROM recalc_outbox)").Scan(&n)
	return n, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
