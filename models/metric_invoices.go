package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// CustomerKey names one customer: the key of its metrics and of its invoices' customer_id.
type CustomerKey struct {
	AccountID  uuid.UUID
	SourceID   uuid.UUID
	CustomerID string
}

// MetricInvoice is what metrics need of one stored, non-archived invoice.
type MetricInvoice struct {
	Type           string    // one of validation.InvoiceTypes, or another value stored before
	Date           time.Time // UTC
	StartDate      time.Time // UTC
	EndDate        time.Time // UTC
	AmountCents    int64
	DiscountCents  int64  // 0 when absent
	Currency       string // upper-case ISO 4217
	SubscriptionID string // "" when absent
}

// metricInvoicesSQL reads the non-archived invoices of many customers in one query, only the
// columns metrics need. Each row carries the ordinal of its customer in the arrays, so grouping is
// an index, not a key comparison. invoices_by_customer serves the join.
const metricInvoicesSQL = `
SELECT c.n, i.type, i.date, i.start_date, i.end_date, i.amount_cents, coalesce(i.discount, 0),
       i.currency, coalesce(i.subscription_id, '')
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS c(account_id, source_id, customer_id, n)
JOIN invoices i ON i.account_id = c.account_id AND i.source_id = c.source_id AND i.customer_id = c.customer_id
WHERE i.archived_at IS NULL`

// MetricInvoices returns the non-archived invoices of each customer, indexed like customers.
func (db *DB) MetricInvoices(ctx context.Context, customers []CustomerKey) ([][]MetricInvoice, error) {
	accounts, sources, ids := make([][16]byte, len(customers)), make([][16]byte, len(customers)), make([]string, len(customers))
	for i, k := range customers {
		accounts[i], sources[i], ids[i] = k.AccountID, k.SourceID, k.CustomerID
	}
	rows, err := query(db.Gorm.WithContext(ctx), metricInvoicesSQL, accounts, sources, ids)
	if err != nil {
		return nil, fmt.Errorf("load invoices: %w", err)
	}
	defer rows.Close()
	out := make([][]MetricInvoice, len(customers))
	for rows.Next() {
		var n int
		var inv MetricInvoice
		if err := rows.Scan(&n, &inv.Type, &inv.Date, &inv.StartDate, &inv.EndDate, &inv.AmountCents,
			&inv.DiscountCents, &inv.Currency, &inv.SubscriptionID); err != nil {
			return nil, fmt.Errorf("scan invoice: %w", err)
		}
		inv.Date, inv.StartDate, inv.EndDate = inv.Date.UTC(), inv.StartDate.UTC(), inv.EndDate.UTC()
		out[n-1] = append(out[n-1], inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load invoices: %w", err)
	}
	return out, nil
}
