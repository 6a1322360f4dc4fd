package recalc

import (
	"context"
	"fmt"
)

// enqueueSQL inserts the customers, or bumps the ones already queued. The unnest produces the rows
// in array order, so the rows are locked in the order Enqueue sorted them. Bumping version is what
// tells a worker computing the customer right now that its result is already outdated; run_at =
// least(run_at, now()) makes a customer waiting out a retry backoff due at once, since the new write
// may be what fixes it, and leaves an already due row's indexed run_at as it is, so the bump is a
// HOT update that touches no index.
const enqueueSQL = `
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
ON CONFLICT (account_id, source_id, customer_id) DO UPDATE
SET version = recalc_queue.version + 1, run_at = least(recalc_queue.run_at, now()), updated_at = now()`

// Enqueue adds or bumps the customers in the queue, in the caller's transaction (transactional
// outbox): if the transaction commits, the customers will be recalculated, also after a crash; if
// it rolls back, nothing is queued. It runs one statement for the whole slice, with the keys sorted
// and de-duplicated so that concurrent writers lock queue rows in the same order and never
// deadlock. Empty keys run no statement.
//
// A customer is a queue row, not a queue entry per write: many writes before a worker gets to it
// lead to one recalculation (coalescing).
func Enqueue(ctx context.Context, tx Execer, keys []CustomerKey) error {
	if len(keys) == 0 {
		return nil
	}
	a := arraysOf(sortedUnique(keys))
	if _, err := tx.ExecContext(ctx, enqueueSQL, a.accounts, a.sources, a.customers); err != nil {
		return fmt.Errorf("enqueue recalculation: %w", err)
	}
	return nil
}
