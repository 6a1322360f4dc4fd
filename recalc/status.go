package recalc

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/models"
)

// Failure is a customer whose recalculation failed and waits for its next attempt.
type Failure struct {
	AccountID     uuid.UUID `json:"account_id"`
	SourceID      uuid.UUID `json:"source_id"`
	CustomerID    string    `json:"customer_id"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
}

// QueueStatus is what an operator asks of the queue: how many writes workers have not folded into
// the queue yet, how much waits, how much is being computed, and which customers keep failing (most
// attempts first). It spans every account: it is for the operator's command line, never for the API.
type QueueStatus struct {
	// PendingWrites counts recalc_outbox rows: committed write transactions whose customers are not
	// queued yet. It stays near zero while workers run; it grows while none does.
	PendingWrites int64     `json:"pending_writes"`
	Queued        int64     `json:"queued"`
	Running       int64     `json:"running"`
	Failing       []Failure `json:"failing"`
}

// Status reads the queue's status, listing at most limit failing customers.
func Status(ctx context.Context, db *models.DB, limit int) (QueueStatus, error) {
	var st QueueStatus
	// Two statements, not a scalar subquery beside the aggregates: Citus cannot push that down.
	if err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM recalc_outbox`).Scan(&st.PendingWrites); err != nil {
		return st, fmt.Errorf("queue status: %w", err)
	}
	err := db.SQL.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE locked_until > now())
		FROM recalc_queue`).Scan(&st.Queued, &st.Running)
	if err != nil {
		return st, fmt.Errorf("queue status: %w", err)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT account_id, source_id, customer_id, attempts, coalesce(last_error, ''), run_at
		FROM recalc_queue WHERE attempts > 0 ORDER BY attempts DESC, run_at LIMIT $1`, limit)
	if err != nil {
		return st, fmt.Errorf("queue failures: %w", err)
	}
	defer rows.Close()
	st.Failing = []Failure{}
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.AccountID, &f.SourceID, &f.CustomerID, &f.Attempts, &f.LastError, &f.NextAttemptAt); err != nil {
			return st, err
		}
		f.NextAttemptAt = f.NextAttemptAt.UTC()
		st.Failing = append(st.Failing, f)
	}
	return st, rows.Err()
}

// Backlog is what an alert watches: customers waiting for a recalculation (queued, including those
// being computed or waiting out a backoff, plus those named by outbox rows not folded yet), and
// how long the oldest of them has waited. Across every account, for the operator.
func Backlog(ctx context.Context, db *models.DB) (depth int64, oldest time.Duration, err error) {
	var secs float64
	err = db.SQL.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM recalc_queue) + (SELECT coalesce(sum(cardinality(customer_ids)), 0) FROM recalc_outbox),
		coalesce(extract(epoch FROM now() - least((SELECT min(created_at) FROM recalc_queue),
			(SELECT min(created_at) FROM recalc_outbox))), 0)::float8`).Scan(&depth, &secs)
	if err != nil {
		return 0, 0, fmt.Errorf("queue backlog: %w", err)
	}
	return depth, time.Duration(secs * float64(time.Second)), nil
}
