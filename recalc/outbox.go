package recalc

import (
	"context"
	"fmt"

	"invoice-ingest/models"
)

// foldRows bounds the outbox rows one fold statement takes (an ingest chunk names up to a thousand
// customers), so a fold stays a short statement however far workers have fallen behind.
const foldRows = 100

// foldSQL moves up to $1 outbox rows, oldest first, into recalc_queue, in one transaction: the
// outbox rows are deleted exactly when their customers are queued. SKIP LOCKED lets several
// workers fold at once, each taking other rows.
//
// The customers are inserted de-duplicated and in key order (see compareKeys), so folds wait for
// each other and for write-backs but never deadlock. A customer already queued is bumped only
// when it needs it:
//   - one a worker holds (locked_by set): version + 1 tells it that its result is already outdated
//     (it may have read the invoices before the write committed), so the row stays queued for
//     another run;
//   - one waiting out a retry backoff (run_at in the future): run_at = now() makes it due at once,
//     since the new write may be what fixes it.
//
// A queued customer nobody holds is left alone: the write committed before its outbox row became
// visible, so whichever worker claims the customer later reads it.
var foldSQL = `
WITH taken AS (
    DELETE FROM recalc_outbox o
    WHERE (o.account_id, o.id) IN (SELECT account_id, id FROM recalc_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING o.account_id, o.source_id, o.customer_ids
), changed AS (
    SELECT DISTINCT t.account_id, t.source_id, c.customer_id
    FROM taken t, unnest(t.customer_ids) AS c(customer_id)
), queued AS (
    INSERT INTO recalc_queue AS q (account_id, source_id, customer_id)
    SELECT c.account_id, c.source_id, c.customer_id FROM changed c
    ORDER BY ` + keyOrder("c") + `
    ON CONFLICT (account_id, source_id, customer_id) DO UPDATE
    SET version = q.version + 1, run_at = least(q.run_at, now()), updated_at = now()
    WHERE q.locked_by IS NOT NULL OR q.run_at > now()
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM queued)`

// fold moves pending outbox rows into the queue until none is left (or other workers hold the
// rest), and returns how many customers it queued or bumped.
func fold(ctx context.Context, db *models.DB) (int, error) {
	total := 0
	for {
		var taken, queued int
		if err := db.SQL.QueryRowContext(ctx, foldSQL, foldRows).Scan(&taken, &queued); err != nil {
			return total, fmt.Errorf("fold recalculation outbox: %w", err)
		}
		total += queued
		if taken < foldRows {
			return total, nil
		}
	}
}
