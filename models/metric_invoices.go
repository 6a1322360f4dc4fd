package models

import (
	"context"
	"errors"
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

// MetricInvoices returns the non-archived invoices of the first customers whose invoices add up to
// at most limit (all of them when limit <= 0), indexed like customers, and how many leading
// customers that is, all of which belong to account. A first customer with more than limit
// invoices is returned alone, whole: it cannot be computed in parts.
func (db *DB) MetricInvoices(ctx context.Context, account uuid.UUID, customers []CustomerKey, limit int) ([][]MetricInvoice, int, error) {
	return metricInvoices(db.Gorm.WithContext(ctx), account, customers, false, limit)
}

// MetricInvoicesIn is MetricInvoices in the transaction tx, as a prepared statement: the caller
// has ruled sequential scans out for tx (a generic plan made while invoices was small would
// otherwise scan it for every customer, and keep doing so as it grows), so the plan PostgreSQL
// caches for the connection stays on the index and the statement is not planned again.
func MetricInvoicesIn(ctx context.Context, tx *gorm.DB, account uuid.UUID, customers []CustomerKey, limit int) ([][]MetricInvoice, int, error) {
	return metricInvoices(tx.WithContext(ctx), account, customers, true, limit)
}

// metricInvoicesCappedSQL stops after $4 rows: the customers' invoices come in the customers'
// order (each LATERAL probe in turn), so PostgreSQL reads no further than the cap.
var metricInvoicesCappedSQL = metricInvoicesSQL + `
LIMIT $4`

// metricInvoices runs metricInvoicesSQL in db, as a prepared statement when prepare says so, capped
// at limit rows when limit > 0 (see MetricInvoices).
func metricInvoices(db *gorm.DB, account uuid.UUID, customers []CustomerKey, prepare bool, limit int) ([][]MetricInvoice, int, error) {
	sources, ids := make([][16]byte, len(customers)), make([]string, len(customers))
	for i, k := range customers {
		if k.AccountID != account {
			return nil, 0, fmt.Errorf("load invoices: customer %q is not of account %s", k.CustomerID, account)
		}
		sources[i], ids[i] = k.SourceID, k.CustomerID
	}
	q, args := metricInvoicesSQL, []any{[16]byte(account), sources, ids}
	if limit > 0 {
		// One row more than the cap tells whether the customer it belongs to was cut.
		q, args = metricInvoicesCappedSQL, append(args, limit+1)
	}
	if prepare {
		args = preparedArgs(db, args...)
	}
	out, cut, err := scanMetricInvoices(db, q, args, len(customers), limit)
	switch {
	case errors.Is(err, errUnordered):
		return metricInvoices(db, account, customers, prepare, 0) // the cap needs the customers' order
	case err != nil:
		return nil, 0, err
	case cut < 0:
		return out, len(customers), nil
	case cut > 0:
		return out[:cut], cut, nil
	}
	// The first customer alone has more invoices than the cap: it comes whole, alone.
	if out, _, err = metricInvoices(db, account, customers[:1], prepare, 0); err != nil {
		return nil, 0, err
	}
	return out, 1, nil
}

// errUnordered says a capped load's rows did not come customer by customer. The plan (a nested
// loop over the customers, in their order) makes them so; should PostgreSQL ever choose another,
// the load is read again without the cap rather than cut in the wrong place.
var errUnordered = errors.New("load invoices: rows out of customer order")

// scanMetricInvoices runs q and groups its rows by customer. When it returns more than limit rows
// (limit > 0), the customer of the row over the limit may be cut: cut is then how many customers
// come before it, all of whose rows were read; otherwise cut is -1.
//
// The rows are scanned into one slice, which the customers' slices then share: an append per
// customer, growing each of thousands of small slices in turn, was a third of a worker's load.
func scanMetricInvoices(db *gorm.DB, q string, args []any, customers, limit int) (out [][]MetricInvoice, cut int, err error) {
	rows, err := query(db, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("load invoices: %w", err)
	}
	defer rows.Close()
	hint := customers * 8
	if limit > 0 {
		hint = min(hint, limit+1)
	}
	all, owners := make([]MetricInvoice, 0, hint), make([]int32, 0, hint)
	last, ordered := 0, true
	for rows.Next() {
		var n int
		all = append(all, MetricInvoice{})
		inv := &all[len(all)-1]
		if err := rows.Scan(&n, &inv.Type, &inv.Date, &inv.StartDate, &inv.EndDate, &inv.AmountCents,
			&inv.DiscountCents, &inv.Currency, &inv.SubscriptionID); err != nil {
			return nil, 0, fmt.Errorf("scan invoice: %w", err)
		}
		if n < last {
			if limit > 0 {
				return nil, 0, errUnordered
			}
			ordered = false
		}
		last = n
		if limit > 0 && len(all) > limit {
			return byCustomer(all[:limit], owners, customers, true), n - 1, nil // the deferred Close discards the rest
		}
		inv.Date, inv.StartDate, inv.EndDate = inv.Date.UTC(), inv.StartDate.UTC(), inv.EndDate.UTC()
		owners = append(owners, int32(n-1))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("load invoices: %w", err)
	}
	return byCustomer(all, owners, customers, ordered), -1, nil
}

// byCustomer groups invoices by their owners (customer ordinals from 0): when the rows came
// customer by customer (ordered), each customer's slice is its run of all, sharing its memory.
func byCustomer(all []MetricInvoice, owners []int32, customers int, ordered bool) [][]MetricInvoice {
	out := make([][]MetricInvoice, customers)
	if !ordered {
		for i, c := range owners {
			out[c] = append(out[c], all[i])
		}
		return out
	}
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && owners[j] == owners[i] {
			j++
		}
		out[owners[i]] = all[i:j:j] // full slice expression: an append by the caller copies
		i = j
	}
	return out
}
