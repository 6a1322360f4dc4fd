package recalc

import (
	"context"
	"fmt"
)

// enqueueSQL inserts the customers, or bumps the ones already queued. The unnest produces the rows
// in array order, so the rows are locked in the order Enqueue sorted them.
//
// A conflicting row is locked whether or not the WHERE lets it be updated, and it stays locked
// until the caller commits. That lock is all a queued, unclaimed customer needs: a worker claims
// with SKIP LOCKED, so it can only claim after the commit and will read this write. Only two rows
// need a bump:
//   - one a worker holds (locked_by set): version + 1 tells it that its result is already outdated,
//     so the row stays queued for another run;
//   - one waiting out a retry backoff (run_at in the future): run_at = now() makes it due at once,
//     since the new write may be what fixes it.
//
// Leaving the others untouched spares a new row version per customer on every write.
const enqueueSQL = `
INSERT INTO recalc_queue AS q (account_id, source_id, customer_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
ON CONFLICT (account_id, source_id, customer_id) DO UPDATE
SET version = q.version + 1, run_at = least(q.run_at, now()), updated_at = now()
WHERE q.locked_by IS NOT NULL OR q.run_at > now()`

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
