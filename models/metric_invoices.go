package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
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

// metricInvoicesSQL reads the non-archived invoices of many customers of account $1 in one query,
// only the columns metrics need. Each row carries the ordinal of its customer in the arrays, so
// grouping is an index, not a key comparison. Each customer's invoices are one range scan of
// invoices_by_customer: OFFSET 0 keeps the LATERAL subquery from being flattened into a join,
// which the planner (expecting one row from the arrays) ran as a hash join over a sequential scan
// of every invoice of the table, for each batch.
const metricInvoicesSQL = `
SELECT c.n, i.type, i.date, i.start_date, i.end_date, i.amount_cents, coalesce(i.discount, 0),
       i.currency, coalesce(i.subscription_id, '')
FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS c(source_id, customer_id, n),
     LATERAL (SELECT i.type, i.date, i.start_date, i.end_date, i.amount_cents, i.discount, i.currency,
                     i.subscription_id
              FROM invoices i
              WHERE i.account_id = $1 AND i.source_id = c.source_id AND i.customer_id = c.customer_id
                AND i.archived_at IS NULL
              OFFSET 0) i`

// MetricInvoices returns the non-archived invoices of each customer, indexed like customers, all
// of which belong to account.
func (db *DB) MetricInvoices(ctx context.Context, account uuid.UUID, customers []CustomerKey) ([][]MetricInvoice, error) {
	return metricInvoices(db.Gorm.WithContext(ctx), account, customers, false)
}

// MetricInvoicesIn is MetricInvoices in the transaction tx, as a prepared statement: the caller
// has ruled sequential scans out for tx (a generic plan made while invoices was small would
// otherwise scan it for every customer, and keep doing so as it grows), so the plan PostgreSQL
// caches for the connection stays on the index and the statement is not planned again.
func MetricInvoicesIn(ctx context.Context, tx *gorm.DB, account uuid.UUID, customers []CustomerKey) ([][]MetricInvoice, error) {
	return metricInvoices(tx.WithContext(ctx), account, customers, true)
}

// metricInvoices runs metricInvoicesSQL in db, as a prepared statement when prepare says so.
func metricInvoices(db *gorm.DB, account uuid.UUID, customers []CustomerKey, prepare bool) ([][]MetricInvoice, error) {
	sources, ids := make([][16]byte, len(customers)), make([]string, len(customers))
	for i, k := range customers {
		if k.AccountID != account {
			return nil, fmt.Errorf("load invoices: customer %q is not of account %s", k.CustomerID, account)
		}
		sources[i], ids[i] = k.SourceID, k.CustomerID
	}
	args := []any{[16]byte(account), sources, ids}
	if prepare {
		args = preparedArgs(db, args...)
	}
	rows, err := query(db, metricInvoicesSQL, args...)
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
