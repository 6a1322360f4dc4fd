package recalc

import (
	"context"
	"fmt"
	"invoice-ingest/models"
	"time"

	"gorm.io/gorm"
)

// The write-back makes the stored history of its customers equal to the computed rows, writing
// only the rows that differ: a recalculation that moves nothing (most of them: a write to one
// invoice moves a few months at most) writes no history row, so leaves no dead tuple and no new
// index entry. Two statements, each of a shape Citus plans on one shard (a statement with
// data-modifying CTEs feeding an INSERT is refused there):
//
//   - deleteGoneHistorySQL deletes the stored rows of the customers $1..$3 that have no computed
//     row ($4..$7: source, customer, currency, month), found one primary-key range scan per
//     customer (storedRowsSQL) and deleted by ctid;
//   - upsertHistorySQL inserts the computed rows of account $1 ($2..$8) that are not stored as
//     they are, updating a stored row whose figures differ. Identical rows are filtered out by a
//     read before the INSERT: ON CONFLICT DO UPDATE ... WHERE locks (and so writes) every
//     conflicting row even when its WHERE then skips it, which made a write-back that moved
//     nothing cost as much as one that rewrote every month.
//
// Two writers never race on a customer's rows: only the holder of its queue row writes them, under
// that row's lock (lockOwned).
var deleteGoneHistorySQL = `
DELETE FROM customer_mrr_history h
WHERE h.account_id = $1 AND h.ctid = ANY (ARRAY(
    SELECT t.tid` + storedRowsSQL(keysFrom("c"), "customer_mrr_history", "t.ctid AS tid, t.currency, t.month", "") + `
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest($4::uuid[], $5::text[], $6::text[], $7::date[]) AS n(source_id, customer_id, currency, month)
        WHERE n.source_id = c.source_id AND n.customer_id = c.customer_id
          AND n.currency = t.currency AND n.month = t.month)))`

const upsertHistorySQL = `
INSERT INTO customer_mrr_history AS h (account_id, source_id, customer_id, currency, month,
    mrr_cents, change_cents, movement)
SELECT $1::uuid, n.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::bigint[],
    $7::bigint[], $8::text[]) AS n(source_id, customer_id, currency, month, mrr_cents, change_cents, movement)
WHERE NOT EXISTS (
    SELECT 1 FROM customer_mrr_history s
    WHERE s.account_id = $1 AND s.source_id = n.source_id AND s.customer_id = n.customer_id
      AND s.currency = n.currency AND s.month = n.month
      AND (s.mrr_cents, s.change_cents, s.movement) IS NOT DISTINCT FROM (n.mrr_cents, n.change_cents, n.movement)
    OFFSET 0)
ON CONFLICT (account_id, source_id, customer_id, currency, month) DO UPDATE
SET mrr_cents = excluded.mrr_cents, change_cents = excluded.change_cents, movement = excluded.movement`

// storeHistory stores the written customers' monthly MRR history, in the write-back transaction
// that replaces their metrics: history is never half-updated and exactly as fresh as the metrics.
// Customers whose computation failed are not among w.written and keep their old history.
func (w *writeBack) storeHistory(ctx context.Context, tx *gorm.DB) error {
	h := &w.history
	if err := execKeys(ctx, tx, "delete history", deleteGoneHistorySQL, w.written, h.sources,
		h.customers, h.currencies, h.months); err != nil {
		return err
	}
	if len(h.customers) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(upsertHistorySQL, models.Prepared(tx, h.account, h.sources, h.customers,
		h.currencies, h.months, h.mrr, h.change, h.movement)...).Error; err != nil {
		return fmt.Errorf("store history: %w", err)
	}
	return nil
}

// historyRows is customer_mrr_history rows column-wise, for one INSERT ... SELECT FROM unnest.
type historyRows struct {
	keyArrays
	currencies  []string
	months      []time.Time
	mrr, change []int64
	movement    []string
}

// add appends one customer's history rows.
func (h *historyRows) add(key CustomerKey, changes []HistoryChange) {
	for _, c := range changes {
		h.keyArrays.add(key)
		h.currencies = append(h.currencies, c.Currency)
		h.months = append(h.months, c.Month)
		h.mrr = append(h.mrr, c.MRRCents)
		h.change = append(h.change, c.ChangeCents)
		h.movement = append(h.movement, c.Movement)
	}
}
