package recalc

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"invoice-ingest/models"
)

// lockOwned locks, in key order, the rows of items still held by claim token, and returns for each
// item the version its row has now, or -1 when the row is no longer ours. Called first in every
// transaction that settles claimed rows (see ownedSQL).
func lockOwned(ctx context.Context, tx *gorm.DB, token string, items []item) ([]int64, error) {
	rows, err := tx.WithContext(ctx).Raw(ownedSQL, models.Prepared(tx, keyArgs(keysOf(items), token)...)...).Rows()
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

// storedRowsSQL is the FROM clause of table's rows (t, its columns cols) of the customers keys (c)
// of account $1 that also satisfy cond: one primary-key range scan per customer. OFFSET 0 keeps
// the LATERAL subquery from being flattened into a join, which the planner, misjudging a table
// that changes faster than its statistics, ran as a sort-merge of the whole table, or as a nested
// loop over the keys for every row, for each batch.
func storedRowsSQL(keys, table, cols, cond string) string {
	return `
    FROM ` + keys + `,
         LATERAL (SELECT ` + cols + ` FROM ` + table + ` t WHERE ` + sameKey("t", "c") + cond + ` OFFSET 0) t`
}

// byTid is the WHERE clause of a statement on table (alias d) that touches the rows of account $1
// found by storedRowsSQL(keys, table, ..., cond), by ctid. Naming the account as well keeps the
// statement on one shard on Citus, where a ctid means something only within one.
func byTid(d, keys, table, cond string) string {
	return `WHERE ` + d + `.account_id = $1 AND ` + d + `.ctid = ANY (ARRAY(SELECT t.tid` +
		storedRowsSQL(keys, table, "t.ctid AS tid", cond) + `))`
}

// deleteKeysSQL deletes table's rows of the customers $1..$3.
func deleteKeysSQL(table string) string {
	return `
DELETE FROM ` + table + ` d
` + byTid("d", keysFrom("c"), table, "")
}

var deleteMetricsSQL = deleteKeysSQL("customer_metrics")

const insertMetricsSQL = `
INSERT INTO customer_metrics (account_id, source_id, customer_id, currency, mrr_cents, arr_cents,
    revenue_cents, invoice_count, first_invoice_at, last_invoice_at, status, calculated_at)
SELECT $1::uuid, c.*, $12::timestamptz
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::timestamptz[], $10::timestamptz[], $11::text[]) AS c`

// upsertScheduleSQL leaves an unchanged next_change_at alone: most recalculations of a customer do
// not move it, and an unwritten row is no dead tuple. The unchanged rows are filtered out before
// the INSERT, since ON CONFLICT DO UPDATE ... WHERE would still lock (write) each of them.
const upsertScheduleSQL = `
INSERT INTO customer_metric_schedule (account_id, source_id, customer_id, next_change_at)
SELECT $1::uuid, s.* FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS s(source_id, customer_id, next_change_at)
WHERE NOT EXISTS (
    SELECT 1 FROM customer_metric_schedule o
    WHERE o.account_id = $1 AND o.source_id = s.source_id AND o.customer_id = s.customer_id
      AND o.next_change_at = s.next_change_at
    OFFSET 0)
ON CONFLICT (account_id, source_id, customer_id) DO UPDATE SET next_change_at = excluded.next_change_at`

var deleteScheduleSQL = deleteKeysSQL("customer_metric_schedule")

// finishSQL removes the queue rows whose version is still the claimed one: their metrics now
// reflect every write. The version and locked_by tests repeat what lockOwned established, so the
// statement is safe on its own; the rows are found by storedRowsSQL (as a join, a queue analyzed
// while nothing was claimed made the planner expect one row held by us, and loop over the batch's
// keys for each of the 1000: seconds per batch) and deleted by ctid (a row changed meanwhile
// would be skipped, not deleted, but lockOwned holds them all).
//
// Each import id a finished row carries is one of that import's customers caught up: one row
// appended to recalc_import_progress per import takes them off its pending, at the later of now
// and the calculation instant $6 (never before the metrics' calculated_at). Appended, not
// updated: concurrent write-backs of one import's customers do not wait for each other. Rows are
// counted per distinct import_ids array before the arrays are unnested: customers written by the
// same imports (one bulk import's, or a series of imports over the same customers) carry the same
// array, so a batch unnests each array once instead of once per customer.
var finishSQL = `
WITH done AS (
    DELETE FROM recalc_queue q
    ` + byTid("q", keysFrom("c", "$4::bigint[]"), "recalc_queue", " AND t.version = c.x1 AND "+heldBy("t", "$5")) + `
    RETURNING q.account_id, q.import_ids
), alike AS (
    SELECT d.account_id, d.import_ids, count(*) AS n
    FROM done d WHERE d.import_ids <> '{}'
    GROUP BY d.account_id, d.import_ids
)
INSERT INTO recalc_import_progress (account_id, import_id, customers, pending, at)
SELECT a.account_id, i.import_id, 0, -sum(a.n), greatest(clock_timestamp(), $6::timestamptz)
FROM alike a, unnest(a.import_ids) AS i(import_id)
GROUP BY a.account_id, i.import_id`

// rerunSQL releases rows whose version moved while they were computed: a write landed meanwhile,
// and the metrics just written may predate it, so the row stays queued and runs again (the fold made
// it due). The computation itself succeeded, so the failure count starts over.
var rerunSQL = `
UPDATE recalc_queue q
SET locked_until = NULL, locked_by = NULL, attempts = 0, last_error = NULL, updated_at = now()
` + byTid("q", keysFrom("c"), "recalc_queue", " AND "+heldBy("t", "$4"))

// indexesOnly starts every write-back transaction. Its statements are prepared once per
// connection (models.Prepared), so PostgreSQL soon runs them with a generic plan cached for the
// connection's life: planning was about half of what a write-back of a few customers cost it.
// Every row they touch is found through a primary key, but a plan made while a table was nearly
// empty (a new account's first write-backs, a fresh database) would scan the table instead, and
// keep doing so as it grows; ruling sequential scans out for the transaction keeps each plan on
// the index whatever the table's size was when it was made.
const indexesOnly = `SET LOCAL enable_seqscan = off`

// write stores the results of items, computed at t, and settles their queue rows, all in one
// transaction: a customer's metrics, its monthly history, its schedule and its queue row change together or not at all.
// Only rows still held by claim token are touched; a customer whose claim was lost (the lease
// expired and another worker took it) is left to that worker, so a late worker can never overwrite
// newer metrics. Customers whose computation failed are recorded as failures in the same
// transaction. It returns how many customers' metrics were written.
func (p *Pool) write(ctx context.Context, token string, items []item, results []result, t time.Time) (int, error) {
	var w *writeBack
	err := p.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.WithContext(ctx).Exec(indexesOnly).Error; err != nil {
			return fmt.Errorf("write-back: %w", err)
		}
		versions, err := lockOwned(ctx, tx, token, items)
		if err != nil {
			return err
		}
		w = planWrite(items, results, versions)
		return p.writeIn(ctx, tx, w, token, t)
	})
	if err != nil {
		return 0, fmt.Errorf("write-back: %w", err)
	}
	p.wrote(w)
	return len(w.written), nil
}

// writeIn makes w's changes in tx, whose caller has locked every queue row of w: the rows held by
// claim token, or, with token "", rows held by no claim that tx locked itself (small.go).
func (p *Pool) writeIn(ctx context.Context, tx *gorm.DB, w *writeBack, token string, t time.Time) error {
	told, err := p.beforeWrite(ctx, tx, w, token)
	if err != nil {
		return err
	}
	if err := w.storeMetrics(ctx, tx, t); err != nil {
		return err
	}
	if err := w.storeHistory(ctx, tx); err != nil {
		return err
	}
	if err := w.storeSchedule(ctx, tx); err != nil {
		return err
	}
	if err := w.settleQueue(ctx, tx, token, t); err != nil {
		return err
	}
	if err := p.afterWrite(ctx, tx, w, told, t); err != nil {
		return err
	}
	if len(w.failed) > 0 {
		return p.markFailed(ctx, tx, token, w.failed, w.failures)
	}
	return nil
}

// wrote tells the logs, Config.Finished and the test hook what the committed write-back w did.
func (p *Pool) wrote(w *writeBack) {
	for i, key := range w.failed {
		p.logFailed(key, w.failures[i])
	}
	if p.cfg.Finished != nil {
		p.cfg.Finished(len(w.written), len(w.failed))
	}
	if p.hooks.written != nil {
		p.hooks.written(w.finished)
	}
}

// writeBack is a batch's results sorted by what the write-back does with each customer, each list
// column-wise, since every statement takes its customers as arrays.
type writeBack struct {
	written          []CustomerKey // their metrics rows are replaced by metrics
	metrics          metricRows
	histories        [][]HistoryChange // the written customers' monthly history, replacing theirs
	scheduled        []CustomerKey     // next change at nextChanges[i]
	nextChanges      []time.Time
	unscheduled      []CustomerKey // nothing changes with time alone
	finished         []CustomerKey // queue row done, if its version is still finishedVersions[i]
	finishedVersions []int64
	rerun            []CustomerKey // written, but a write landed meanwhile: queued again
	failed           []CustomerKey // computation failed with failures[i]
	failures         []string
}

// planWrite sorts items by their results and by versions, what lockOwned found: a customer no
// longer ours is left out altogether.
func planWrite(items []item, results []result, versions []int64) *writeBack {
	w := &writeBack{}
	nm := 0
	for i := range results {
		nm += len(results[i].metrics)
	}
	w.metrics.grow(nm)
	for i, it := range items {
		r := &results[i]
		switch {
		case versions[i] < 0:
			continue
		case r.err != nil:
			w.failed = append(w.failed, it.key)
			w.failures = append(w.failures, r.err.Error())
			continue
		}
		w.written = append(w.written, it.key)
		w.metrics.add(it.key, r.metrics)
		w.histories = append(w.histories, r.history)
		if r.nextChange.IsZero() {
			w.unscheduled = append(w.unscheduled, it.key)
		} else {
			w.scheduled = append(w.scheduled, it.key)
			w.nextChanges = append(w.nextChanges, r.nextChange)
		}
		if versions[i] == it.version {
			w.finished = append(w.finished, it.key)
			w.finishedVersions = append(w.finishedVersions, it.version)
		} else {
			w.rerun = append(w.rerun, it.key)
		}
	}
	return w
}

// storeMetrics replaces the written customers' metrics rows: deleting them all first also drops the
// rows of currencies a customer no longer has invoices in.
func (w *writeBack) storeMetrics(ctx context.Context, tx *gorm.DB, t time.Time) error {
	if err := execKeys(ctx, tx, "delete old metrics", deleteMetricsSQL, w.written); err != nil {
		return err
	}
	m := &w.metrics
	if len(m.customers) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(insertMetricsSQL, models.Prepared(tx, m.account, m.sources, m.customers,
		m.currencies, m.mrr, m.arr, m.revenue, m.count, m.first, m.last, m.status, t)...).Error; err != nil {
		return fmt.Errorf("insert metrics: %w", err)
	}
	return nil
}

// storeSchedule records when each written customer's metrics next move with time alone, for the
// sweep.
func (w *writeBack) storeSchedule(ctx context.Context, tx *gorm.DB) error {
	if err := execKeys(ctx, tx, "upsert metric schedule", upsertScheduleSQL, w.scheduled, w.nextChanges); err != nil {
		return err
	}
	return execKeys(ctx, tx, "delete metric schedule", deleteScheduleSQL, w.unscheduled)
}

// settleQueue deletes the queue rows of finished customers and releases those to run again.
func (w *writeBack) settleQueue(ctx context.Context, tx *gorm.DB, token string, t time.Time) error {
	if err := execKeys(ctx, tx, "finish queue rows", finishSQL, w.finished, w.finishedVersions, holder(token), t); err != nil {
		return err
	}
	return execKeys(ctx, tx, "release changed queue rows", rerunSQL, w.rerun, holder(token))
}

// execKeys runs query in tx with keyArgs(keys, more...); no statement at all when keys is empty.
// what names the statement in an error.
func execKeys(ctx context.Context, tx *gorm.DB, what, query string, keys []CustomerKey, more ...any) error {
	if len(keys) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(query, models.Prepared(tx, keyArgs(keys, more...)...)...).Error; err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// metricRows is customer_metrics rows column-wise, for one INSERT ... SELECT FROM unnest.
type metricRows struct {
	keyArrays
	currencies               []string
	mrr, arr, revenue, count []int64
	first, last              []time.Time
	status                   []string
}

// grow makes room for n more rows.
func (m *metricRows) grow(n int) {
	m.keyArrays.grow(n)
	m.currencies = slices.Grow(m.currencies, n)
	m.mrr, m.arr = slices.Grow(m.mrr, n), slices.Grow(m.arr, n)
	m.revenue, m.count = slices.Grow(m.revenue, n), slices.Grow(m.count, n)
	m.first, m.last = slices.Grow(m.first, n), slices.Grow(m.last, n)
	m.status = slices.Grow(m.status, n)
}

// add appends one customer's metrics rows. Compute gives every entry at least one invoice, so
// first and last invoice instants are never zero.
func (m *metricRows) add(key CustomerKey, ms []Metrics) {
	for _, x := range ms {
		m.keyArrays.add(key)
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
