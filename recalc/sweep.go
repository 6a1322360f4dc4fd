package recalc

import (
	"context"
	"fmt"
	"time"
)

// sweepChunk bounds the customers one sweep statement queues, so a month boundary at which
// millions of subscriptions renew is queued in short transactions, not one huge one.
const sweepChunk = 10_000

// sweepMaxChunks bounds the statements of one Sweep; the next sweep continues where it stopped.
const sweepMaxChunks = 100

// sweepSQL queues the customers whose metrics were due to change by $1 and that are not queued
// already, oldest change first, inserting in key order (see compareKeys) so it never deadlocks with
// a fold.
//
// A customer already queued is left alone, on purpose: if it is waiting, the run it is waiting for
// computes at a later instant and so includes the change; if it is backing off after failures,
// re-queueing it would defeat the backoff every sweep; if it is being computed at an instant before
// the change, that computation stores the same next_change_at again and the next sweep queues it.
// ON CONFLICT DO NOTHING covers a customer queued between the NOT EXISTS and the insert.
var sweepSQL = `
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT s.account_id, s.source_id, s.customer_id
FROM (
    SELECT s.account_id, s.source_id, s.customer_id
    FROM customer_metric_schedule s
    WHERE s.next_change_at <= $1
      AND NOT EXISTS (SELECT 1 FROM recalc_queue q
                      WHERE q.account_id = s.account_id AND q.source_id = s.source_id AND q.customer_id = s.customer_id)
    ORDER BY s.next_change_at
    LIMIT $2
) s
ORDER BY ` + keyOrder("s") + `
ON CONFLICT (account_id, source_id, customer_id) DO NOTHING`

// Sweep queues the customers whose stored next_change_at has passed (at p's clock), returns how
// many. Queued customers run as soon as a worker is free: a subscription period that ended
// overnight moves MRR without any write, and this is what notices.
func (p *Pool) Sweep(ctx context.Context) (int, error) {
	now := p.cfg.Now()
	total := 0
	for range sweepMaxChunks {
		n, err := p.sweepChunk(ctx, now)
		total += n
		if err != nil || n < sweepChunk {
			return total, err
		}
	}
	return total, nil
}

// sweepChunk runs one sweep statement.
func (p *Pool) sweepChunk(ctx context.Context, now time.Time) (int, error) {
	res, err := p.db.SQL.ExecContext(ctx, sweepSQL, now, sweepChunk)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return int(n), nil
}
