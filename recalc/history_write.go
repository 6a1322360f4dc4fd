package recalc

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// storeHistorySQL makes the stored history of the customers $1..$3 (account $1) equal to their
// computed rows $4..$10, writing only the rows that differ. A recalculation that moves nothing (most of them:
// a write to one invoice moves a few months at most) writes no history row, so leaves no dead
// tuple and no new index entry; a first calculation inserts all its rows with a plain INSERT.
//
//   - stored: the customers' rows now, one primary-key range scan per customer (storedRowsSQL);
//   - diff: each stored or computed row whose figures differ from its counterpart (same customer,
//     currency and month), or has none: tid is the stored row's, the rest the computed row's;
//   - a stored row without a computed one is deleted (by tid), a computed row without a stored one
//     inserted, and a changed row updated through ON CONFLICT (every such row conflicts).
//
// Two writers never race on a customer's rows: only the holder of its queue row writes them, under
// that row's lock (lockOwned), so what stored read is still there when the statement writes.
var storeHistorySQL = `
WITH computed AS (
    SELECT $1::uuid AS account_id, n.* FROM unnest($4::uuid[], $5::text[], $6::text[], $7::date[],
        $8::bigint[], $9::bigint[], $10::text[])
        AS n(source_id, customer_id, currency, month, mrr_cents, change_cents, movement)
), stored AS (
    SELECT t.*` + storedRowsSQL(keysFrom("c"), "customer_mrr_history", "t.ctid AS tid, t.*", "") + `
), diff AS (
    SELECT s.tid, n.*
    FROM stored s FULL JOIN computed n
      ON ` + sameKey("s", "n") + ` AND s.currency = n.currency AND s.month = n.month
    WHERE (s.mrr_cents, s.change_cents, s.movement) IS DISTINCT FROM (n.mrr_cents, n.change_cents, n.movement)
), gone AS (
    DELETE FROM customer_mrr_history h
    WHERE h.account_id = $1 AND h.ctid = ANY (ARRAY(SELECT tid FROM diff WHERE account_id IS NULL))
), added AS (
    INSERT INTO customer_mrr_history
    SELECT ` + historyCols + ` FROM diff WHERE tid IS NULL
)
INSERT INTO customer_mrr_history AS h
SELECT ` + historyCols + ` FROM diff WHERE tid IS NOT NULL AND account_id IS NOT NULL
ON CONFLICT (account_id, source_id, customer_id, currency, month) DO UPDATE
SET mrr_cents = excluded.mrr_cents, change_cents = excluded.change_cents, movement = excluded.movement`

// historyCols are customer_mrr_history's columns, in its order.
const historyCols = "account_id, source_id, customer_id, currency, month, mrr_cents, change_cents, movement"

// storeHistory stores the written customers' monthly MRR history, in the write-back transaction
// that replaces their metrics: history is never half-updated and exactly as fresh as the metrics.
// Customers whose computation failed are not among w.written and keep their old history.
func (w *writeBack) storeHistory(ctx context.Context, tx *gorm.DB) error {
	h := &w.history
	return execKeys(ctx, tx, "store history", storeHistorySQL, w.written, h.sources,
		h.customers, h.currencies, h.months, h.mrr, h.change, h.movement)
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
