package recalc

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// enqueueSQL appends one outbox row naming changed customers of one account and data source.
const enqueueSQL = `INSERT INTO recalc_outbox (account_id, source_id, customer_ids) VALUES ($1, $2, $3)`

// Enqueue records, in the caller's GORM transaction, that the customers changed (transactional outbox):
// if the transaction commits, the customers will be recalculated, also after a crash; if it rolls
// back, nothing is recorded. It appends one recalc_outbox row per account and data source in keys
// (in practice one), with the customers de-duplicated; workers fold outbox rows into recalc_queue
// (see fold). Empty keys run no statement.
//
// Appending locks nothing another writer or a worker waits for, so concurrent imports of the same
// customers do not serialize on their commits, and a writer's cost does not grow with how busy
// the queue is.
func Enqueue(ctx context.Context, tx *gorm.DB, keys []CustomerKey) error {
	type group struct{ account, source uuid.UUID }
	var order []group
	customers := make(map[group][]string, 1)
	for _, k := range keys {
		g := group{k.AccountID, k.SourceID}
		if _, ok := customers[g]; !ok {
			order = append(order, g)
		}
		customers[g] = append(customers[g], k.CustomerID)
	}
	for _, g := range order {
		ids := slices.Compact(slices.Sorted(slices.Values(customers[g])))
		if err := tx.WithContext(ctx).Exec(enqueueSQL, [16]byte(g.account), [16]byte(g.source), ids).Error; err != nil {
			return fmt.Errorf("enqueue recalculation: %w", err)
		}
	}
	return nil
}
