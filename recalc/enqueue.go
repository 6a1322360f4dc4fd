package recalc

import (
	"context"
	"fmt"
)

// enqueueSQL appends one outbox row naming changed customers of one account.
const enqueueSQL = `INSERT INTO recalc_outbox (account_id, source_ids, customer_ids) VALUES ($1, $2, $3)`

// Enqueue records, in the caller's transaction, that the customers changed (transactional outbox):
// if the transaction commits, the customers will be recalculated, also after a crash; if it rolls
// back, nothing is recorded. It appends one recalc_outbox row per account in keys (in practice one),
// with the customers de-duplicated; workers fold outbox rows into recalc_queue (see fold). Empty
// keys run no statement.
//
// Appending locks nothing another writer or a worker waits for, so concurrent imports of the same
// customers do not serialize on their commits, and a writer's cost does not grow with how busy
// the queue is.
func Enqueue(ctx context.Context, tx Execer, keys []CustomerKey) error {
	if len(keys) == 0 {
		return nil
	}
	keys = sortedUnique(keys)
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end].AccountID == keys[start].AccountID {
			end++
		}
		a := arraysOf(keys[start:end])
		if _, err := tx.ExecContext(ctx, enqueueSQL, [16]byte(keys[start].AccountID), a.sources, a.customers); err != nil {
			return fmt.Errorf("enqueue recalculation: %w", err)
		}
		start = end
	}
	return nil
}
