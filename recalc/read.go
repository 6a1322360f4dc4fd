package recalc

import (
	"context"
	"database/sql"
	"fmt"

	"invoice-ingest/models"
)

// readSQL returns the customer's metrics rows, and whether it is queued (or named by an outbox row
// not folded yet), in one statement so both come from one snapshot: a reader never sees new
// metrics still flagged stale by a queue row that was already deleted, or old metrics flagged
// fresh. The outbox part scans the account's pending outbox rows, which stay few while workers
// keep up. The LEFT JOIN on a one-row VALUES yields the stale flag even when the customer has no
// metrics (yet, or any more).
const readSQL = `
SELECT EXISTS (SELECT 1 FROM recalc_queue q
               WHERE q.account_id = $1 AND q.source_id = $2 AND q.customer_id = $3)
       OR EXISTS (SELECT 1 FROM recalc_outbox o
                  WHERE o.account_id = $1 AND o.source_id = $2 AND $3 = ANY (o.customer_ids)),
       m.currency, m.mrr_cents, m.arr_cents, m.revenue_cents, m.invoice_count,
       m.first_invoice_at, m.last_invoice_at, m.status, m.calculated_at
FROM (VALUES (1)) AS one
LEFT JOIN customer_metrics m ON m.account_id = $1 AND m.source_id = $2 AND m.customer_id = $3
ORDER BY m.currency COLLATE "C"`

// CustomerMetrics returns the stored metrics of one customer (sorted by currency) and whether a
// recalculation of it is queued or running (stale). Scoped by account.
//
// A customer with no metrics (none computed yet, or no invoices left) has an empty slice; it is
// stale if it is queued. A customer that failed and is waiting to be retried stays stale.
func CustomerMetrics(ctx context.Context, db *models.DB, key CustomerKey) ([]Metrics, bool, error) {
	rows, err := db.SQL.QueryContext(ctx, readSQL, [16]byte(key.AccountID), [16]byte(key.SourceID), key.CustomerID)
	if err != nil {
		return nil, false, fmt.Errorf("read metrics: %w", err)
	}
	defer rows.Close()
	var out []Metrics
	var stale bool
	for rows.Next() {
		var (
			currency, status         sql.NullString
			mrr, arr, revenue, count sql.NullInt64
			first, last, calculated  sql.NullTime
		)
		if err := rows.Scan(&stale, &currency, &mrr, &arr, &revenue, &count, &first, &last, &status, &calculated); err != nil {
			return nil, false, fmt.Errorf("scan metrics: %w", err)
		}
		if !currency.Valid {
			continue // the customer has no metrics rows
		}
		out = append(out, Metrics{
			Currency:       currency.String,
			MRRCents:       mrr.Int64,
			ARRCents:       arr.Int64,
			RevenueCents:   revenue.Int64,
			InvoiceCount:   count.Int64,
			FirstInvoiceAt: first.Time.UTC(),
			LastInvoiceAt:  last.Time.UTC(),
			Status:         status.String,
			CalculatedAt:   calculated.Time.UTC(),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read metrics: %w", err)
	}
	return out, stale, nil
}
