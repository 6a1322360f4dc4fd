package recalc

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

var deleteHistorySQL = deleteKeysSQL("customer_mrr_history")

const insertHistorySQL = `
INSERT INTO customer_mrr_history (account_id, source_id, customer_id, currency, month, mrr_cents,
    change_cents, movement)
SELECT $1::uuid, h.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::bigint[],
    $7::bigint[], $8::text[]) AS h`

// storeHistory replaces the written customers' monthly MRR history, in the write-back transaction
// that replaces their metrics: history is never half-updated and exactly as fresh as the metrics.
// Customers whose computation failed are not among w.written and keep their old history.
func (w *writeBack) storeHistory(ctx context.Context, tx *gorm.DB) error {
	if err := execKeys(ctx, tx, "delete old history", deleteHistorySQL, w.written); err != nil {
		return err
	}
	h := &w.history
	if len(h.customers) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(insertHistorySQL, h.account, h.sources, h.customers, h.currencies,
		h.months, h.mrr, h.change, h.movement).Error; err != nil {
		return fmt.Errorf("insert history: %w", err)
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
