package models

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

const lockInvoiceCustomersSQL = `
SELECT id, customer_id FROM invoices
WHERE account_id = $1 AND source_id = $2 AND id = ANY($3::text[])
ORDER BY id
FOR UPDATE`

// LockInvoiceCustomers locks, in the caller's transaction, the stored invoices of one source among
// ids (sorted), and returns the customer each belongs to now. The write path calls it for the
// invoices UpsertKeptInvoices left (locked already), before upserting them: an invoice that
// moves to another customer changes the previous customer's metrics too, and its previous
// customer is known exactly only under the lock (no other writer can move it again before the
// transaction ends). Ids with no stored row are left out; one
// inserted meanwhile by another writer shows up as an update the caller has no previous customer
// for, and the caller decides the batch again.
//
// It runs in the pool's default mode, planned with its real parameters every time, never as a
// cached prepared statement: a generic plan made while the source held few rows scans every row
// of the source through the primary key's (account_id, source_id) prefix and filters by the
// array, and nothing re-plans it as the table grows (without an ANALYZE), so a long import of new
// invoices became quadratic.
func LockInvoiceCustomers(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := query(tx.WithContext(ctx), lockInvoiceCustomersSQL, [16]byte(account), [16]byte(source), ids)
	if err != nil {
		return nil, fmt.Errorf("lock invoices: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id, customer string
		if err := rs.Scan(&id, &customer); err != nil {
			return nil, fmt.Errorf("lock invoices: %w", err)
		}
		out[id] = customer
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("lock invoices: %w", err)
	}
	return out, nil
}
