package recalc

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// lockOwned locks, in key order, the rows of items still held by claim token, and returns for each
// item the version its row has now, or -1 when the row is no longer ours. Called first in every
// transaction that settles claimed rows (see ownedSQL).
func lockOwned(ctx context.Context, tx *sql.Tx, token string, items []item) ([]int64, error) {
	a := arraysOf(keysOf(items))
	rows, err := tx.QueryContext(ctx, ownedSQL, a.accounts, a.sources, a.customers, token)
	if err != nil {
		return nil, fmt.Errorf("lock claimed rows: %w", err)
	}
	defer rows.Close()
	versions := make([]int64, len(items))
	for i := range versions {
		versions[i] = -1
	}
	for rows.Next() {
		var n int
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, fmt.Errorf("scan claimed row: %w", err)
		}
		versions[n-1] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock claimed rows: %w", err)
	}
	return versions, nil
}

const deleteMetricsSQL = `
DELETE FROM customer_metrics m
USING unnest($1::uuid[], $2::uuid[], $3::text[]) AS c(account_id, source_id, customer_id)
WHERE m.account_id = c.account_id AND m.source_id = c.source_id AND m.customer_id = c.customer_id`

const insertMetricsSQL = `
INSERT INTO customer_metrics (account_id, source_id, customer_id, currency, mrr_cents, arr_cents,
    revenue_cents, invoice_count, first_invoice_at, last_invoice_at, status, calculated_at)
SELECT c.*, $12::timestamptz
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::timestamptz[], $10::timestamptz[], $11::text[]) AS c`

// upsertScheduleSQL leaves an unchanged next_change_at alone: most recalculations of a customer do
// not move it, and an unwritten row is no dead tuple.
const upsertScheduleSQL = `
INSERT INTO customer_metric_schedule (account_id, source_id, customer_id, next_change_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (account_id, source_id, customer_id) DO UPDATE SET next_change_at = excluded.next_change_at
WHERE customer_metric_schedule.next_change_at IS DISTINCT FROM excluded.next_change_at`

const deleteScheduleSQL = `
DELETE FROM customer_metric_schedule s
USING unnest($1::uuid[], $2::uuid[], $3::text[]) AS c(account_id, source_id, customer_id)
WHERE s.account_id = c.account_id AND s.source_id = c.source_id AND s.customer_id = c.customer_id`

// finishSQL removes the queue rows whose version is still the claimed one: their metrics now
// reflect every write. The version and locked_by tests repeat what lockOwned established, so the
// statement is safe on its own.
const finishSQL = `
DELETE FROM recalc_queue q
USING unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[]) AS c(account_id, source_id, customer_id, version)
WHERE q.account_id = c.account_id AND q.source_id = c.source_id AND q.customer_id = c.customer_id
  AND q.version = c.version AND q.locked_by = $5`

// rerunSQL releases rows whose version moved while they were computed: a write landed meanwhile,
// and the metrics just written may predate it, so the row stays queued and runs again (the fold made
// it due). The computation itself succeeded, so the failure count starts over.
const rerunSQL = `
UPDATE recalc_queue q
SET locked_until = NULL, locked_by = NULL, attempts = 0, last_error = NULL, updated_at = now()
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS c(account_id, source_id, customer_id)
WHERE q.account_id = c.account_id AND q.source_id = c.source_id AND q.customer_id = c.customer_id
  AND q.locked_by = $4`

// write stores the results of items, computed at t, and settles their queue rows, all in one
// transaction: a customer's metrics, its schedule and its queue row change together or not at all.
// Only rows still held by claim token are touched; a customer whose claim was lost (the lease
// expired and another worker took it) is left to that worker, so a late worker can never overwrite
// newer metrics. Customers whose computation failed are recorded as failures in the same
// transaction. It returns how many customers' metrics were written.
func (p *Pool) write(ctx context.Context, token string, items []item, results []result, t time.Time) (int, error) {
	tx, err := p.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin write-back: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	versions, err := lockOwned(ctx, tx, token, items)
	if err != nil {
		return 0, err
	}

	var written, finished, rerun, failed []CustomerKey
	var finishedVersions []int64
	var failures []string
	var scheduled []CustomerKey
	var nextChanges []time.Time
	var unscheduled []CustomerKey
	var m metricRows
	for i, it := range items {
		r := &results[i]
		switch {
		case versions[i] < 0:
			continue // no longer ours
		case r.err != nil:
			failed = append(failed, it.key)
			failures = append(failures, r.err.Error())
			continue
		}
		written = append(written, it.key)
		m.add(it.key, r.metrics)
		if r.nextChange.IsZero() {
			unscheduled = append(unscheduled, it.key)
		} else {
			scheduled = append(scheduled, it.key)
			nextChanges = append(nextChanges, r.nextChange)
		}
		if versions[i] == it.version {
			finished = append(finished, it.key)
			finishedVersions = append(finishedVersions, it.version)
		} else {
			rerun = append(rerun, it.key)
		}
	}

	if len(written) > 0 {
		a := arraysOf(written)
		if _, err := tx.ExecContext(ctx, deleteMetricsSQL, a.accounts, a.sources, a.customers); err != nil {
			return 0, fmt.Errorf("delete old metrics: %w", err)
		}
	}
	if len(m.customers) > 0 {
		if _, err := tx.ExecContext(ctx, insertMetricsSQL, m.accounts, m.sources, m.customers, m.currencies,
			m.mrr, m.arr, m.revenue, m.count, m.first, m.last, m.status, t); err != nil {
			return 0, fmt.Errorf("insert metrics: %w", err)
		}
	}
	if len(scheduled) > 0 {
		a := arraysOf(scheduled)
		if _, err := tx.ExecContext(ctx, upsertScheduleSQL, a.accounts, a.sources, a.customers, nextChanges); err != nil {
			return 0, fmt.Errorf("upsert metric schedule: %w", err)
		}
	}
	if len(unscheduled) > 0 {
		a := arraysOf(unscheduled)
		if _, err := tx.ExecContext(ctx, deleteScheduleSQL, a.accounts, a.sources, a.customers); err != nil {
			return 0, fmt.Errorf("delete metric schedule: %w", err)
		}
	}
	if len(finished) > 0 {
		a := arraysOf(finished)
		if _, err := tx.ExecContext(ctx, finishSQL, a.accounts, a.sources, a.customers, finishedVersions, token); err != nil {
			return 0, fmt.Errorf("finish queue rows: %w", err)
		}
	}
	if len(rerun) > 0 {
		a := arraysOf(rerun)
		if _, err := tx.ExecContext(ctx, rerunSQL, a.accounts, a.sources, a.customers, token); err != nil {
			return 0, fmt.Errorf("release changed queue rows: %w", err)
		}
	}
	if len(failed) > 0 {
		if err := p.markFailed(ctx, tx, token, failed, failures); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit write-back: %w", err)
	}
	for i, key := range failed {
		p.cfg.Log.Warn("recalc: customer failed", "account", key.AccountID, "source", key.SourceID,
			"customer", key.CustomerID, "err", failures[i])
	}
	return len(written), nil
}

// metricRows is customer_metrics rows column-wise, for one INSERT ... SELECT FROM unnest.
type metricRows struct {
	accounts, sources        [][16]byte
	customers, currencies    []string
	mrr, arr, revenue, count []int64
	first, last              []time.Time
	status                   []string
}

// add appends one customer's metrics rows. Compute gives every entry at least one invoice, so
// first and last invoice instants are never zero.
func (m *metricRows) add(key CustomerKey, ms []Metrics) {
	for _, x := range ms {
		m.accounts = append(m.accounts, key.AccountID)
		m.sources = append(m.sources, key.SourceID)
		m.customers = append(m.customers, key.CustomerID)
		m.currencies = append(m.currencies, x.Currency)
		m.mrr = append(m.mrr, x.MRRCents)
		m.arr = append(m.arr, x.ARRCents)
		m.revenue = append(m.revenue, x.RevenueCents)
		m.count = append(m.count, x.InvoiceCount)
		m.first = append(m.first, x.FirstInvoiceAt)
		m.last = append(m.last, x.LastInvoiceAt)
		m.status = append(m.status, x.Status)
	}
}
