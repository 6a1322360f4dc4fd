package recalc

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

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
		m, ok, err := scanMetrics(rows, &stale)
		if err != nil {
			return nil, false, err
		}
		if ok {
			out = append(out, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read metrics: %w", err)
	}
	return out, stale, nil
}

// CustomerState is a customer's stored metrics (sorted by currency) and whether it is stale, as
// CustomerMetrics returns them.
type CustomerState struct {
	Metrics []Metrics
	Stale   bool
}

// readManySQL is readSQL for many customers of one source ($3) at once: one statement for a page
// of a customer list, from one snapshot.
const readManySQL = `
SELECT c.customer_id,
       EXISTS (SELECT 1 FROM recalc_queue q
               WHERE q.account_id = $1 AND q.source_id = $2 AND q.customer_id = c.customer_id)
       OR EXISTS (SELECT 1 FROM recalc_outbox o
                  WHERE o.account_id = $1 AND o.source_id = $2 AND c.customer_id = ANY (o.customer_ids)),
       m.currency, m.mrr_cents, m.arr_cents, m.revenue_cents, m.invoice_count,
       m.first_invoice_at, m.last_invoice_at, m.status, m.calculated_at
FROM unnest($3::text[]) AS c(customer_id)
LEFT JOIN customer_metrics m ON m.account_id = $1 AND m.source_id = $2 AND m.customer_id = c.customer_id
ORDER BY m.currency COLLATE "C"`

// CustomersMetrics returns CustomerMetrics for each of the source's customers ids, in one query,
// keyed by customer id; every id is in the map. Scoped by account.
func CustomersMetrics(ctx context.Context, db *models.DB, accountID, sourceID uuid.UUID, ids []string) (map[string]CustomerState, error) {
	out := make(map[string]CustomerState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.SQL.QueryContext(ctx, readManySQL, [16]byte(accountID), [16]byte(sourceID), ids)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var stale bool
		m, ok, err := scanMetrics(rows, &id, &stale)
		if err != nil {
			return nil, err
		}
		st := out[id]
		st.Stale = stale
		if ok {
			st.Metrics = append(st.Metrics, m)
		}
		out[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// scanMetrics scans a row of lead columns then a LEFT JOINed customer_metrics row; ok is false
// when the join found none.
func scanMetrics(rows *sql.Rows, lead ...any) (m Metrics, ok bool, err error) {
	var (
		currency, status         sql.NullString
		mrr, arr, revenue, count sql.NullInt64
		first, last, calculated  sql.NullTime
	)
	dest := append(lead, &currency, &mrr, &arr, &revenue, &count, &first, &last, &status, &calculated)
	if err := rows.Scan(dest...); err != nil {
		return m, false, fmt.Errorf("scan metrics: %w", err)
	}
	if !currency.Valid {
		return m, false, nil // no metrics rows
	}
	return Metrics{
		Currency:       currency.String,
		MRRCents:       mrr.Int64,
		ARRCents:       arr.Int64,
		RevenueCents:   revenue.Int64,
		InvoiceCount:   count.Int64,
		FirstInvoiceAt: first.Time.UTC(),
		LastInvoiceAt:  last.Time.UTC(),
		Status:         status.String,
		CalculatedAt:   calculated.Time.UTC(),
	}, true, nil
}
