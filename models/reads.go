package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// InvoiceFilter narrows ListInvoices. Empty strings and nil times match everything.
type InvoiceFilter struct {
	CustomerID string
	Type       string
	Currency   string     // compared as given: the caller upper-cases it, as it is stored
	DateFrom   *time.Time // inclusive
	DateTo     *time.Time // exclusive
	Archived   bool       // false: only non-archived invoices; true: only archived ones
}

// ListInvoices returns one page of the source's invoices, newest date first and ties by id, the
// cursor of the next page and whether there is one ("" and false on the last page).
//
// Pagination is by keyset, not offset: the next page starts strictly after the last row returned,
// so a walk visits every row that existed when it began exactly once even while rows are inserted
// (a row inserted behind the cursor is simply not seen). It follows the invoices_by_date index.
func (db *DB) ListInvoices(ctx context.Context, accountID, sourceID uuid.UUID, f InvoiceFilter, p Page) ([]Invoice, string, bool, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, "", false, err
	}
	q := db.Gorm.WithContext(ctx).Where("account_id = ? AND source_id = ?", accountID, sourceID)
	if f.Archived {
		q = q.Where("archived_at IS NOT NULL")
	} else {
		q = q.Where("archived_at IS NULL")
	}
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Currency != "" {
		q = q.Where("currency = ?", f.Currency)
	}
	if f.DateFrom != nil {
		q = q.Where("date >= ?", f.DateFrom.UTC())
	}
	if f.DateTo != nil {
		q = q.Where("date < ?", f.DateTo.UTC())
	}
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, true)
		if err != nil {
			return nil, "", false, err
		}
		// After (d, id) in date DESC, id ASC order: date < d, or date = d and id > id. Written with
		// a leading "date <= d" so the planner can start the index scan at d instead of filtering
		// every row before it.
		d := c.date()
		q = q.Where("date <= ? AND (date < ? OR id > ?)", d, d, c.I)
	}
	var list []Invoice
	if err := q.Order("date DESC, id ASC").Limit(limit + 1).Find(&list).Error; err != nil {
		return nil, "", false, fmt.Errorf("list invoices: %w", err)
	}
	if len(list) <= limit {
		return list, "", false, nil
	}
	list = list[:limit]
	return list, invoiceCursor(list[limit-1]), true, nil
}

// GetInvoice returns one invoice of the source, archived or not, or an ENOTFOUND error.
func (db *DB) GetInvoice(ctx context.Context, accountID, sourceID uuid.UUID, id string) (Invoice, error) {
	return getByKey[Invoice](db.Gorm.WithContext(ctx), accountID, sourceID, id, "Invoice")
}

// ListCustomers returns one page of the source's customers by id, as ListInvoices does.
func (db *DB) ListCustomers(ctx context.Context, accountID, sourceID uuid.UUID, p Page) ([]Customer, string, bool, error) {
	var list []Customer
	next, more, err := listByID(ctx, db, accountID, sourceID, p, &list, func(c Customer) string { return c.ID })
	if err != nil {
		return nil, "", false, fmt.Errorf("list customers: %w", err)
	}
	return list, next, more, nil
}

// GetCustomer returns one customer of the source, or an ENOTFOUND error.
func (db *DB) GetCustomer(ctx context.Context, accountID, sourceID uuid.UUID, id string) (Customer, error) {
	return getByKey[Customer](db.Gorm.WithContext(ctx), accountID, sourceID, id, "Customer")
}

// ListPlans returns one page of the source's plans by id, as ListInvoices does.
func (db *DB) ListPlans(ctx context.Context, accountID, sourceID uuid.UUID, p Page) ([]Plan, string, bool, error) {
	var list []Plan
	next, more, err := listByID(ctx, db, accountID, sourceID, p, &list, func(pl Plan) string { return pl.ID })
	if err != nil {
		return nil, "", false, fmt.Errorf("list plans: %w", err)
	}
	return list, next, more, nil
}

// GetPlan returns one plan of the source, or an ENOTFOUND error.
func (db *DB) GetPlan(ctx context.Context, accountID, sourceID uuid.UUID, id string) (Plan, error) {
	return getByKey[Plan](db.Gorm.WithContext(ctx), accountID, sourceID, id, "Plan")
}

// getByKey reads the row of type T under (account, source, id); noun names it in the ENOTFOUND
// message.
func getByKey[T any](db *gorm.DB, accountID, sourceID uuid.UUID, id, noun string) (T, error) {
	var v T
	err := db.Where("account_id = ? AND source_id = ? AND id = ?", accountID, sourceID, id).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, Errorf(ENOTFOUND, "%s %s does not exist.", noun, id)
	}
	if err != nil {
		return v, fmt.Errorf("get %s: %w", strings.ToLower(noun), err)
	}
	return v, nil
}

// listByID fills *list with one page of a source's rows of type T ordered by id (the primary key's
// last column, so the scan follows it), and returns the next cursor and whether there is more.
func listByID[T any](ctx context.Context, db *DB, accountID, sourceID uuid.UUID, p Page, list *[]T, id func(T) string) (string, bool, error) {
	limit, err := p.limit()
	if err != nil {
		return "", false, err
	}
	q := db.Gorm.WithContext(ctx).Where("account_id = ? AND source_id = ?", accountID, sourceID)
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, false)
		if err != nil {
			return "", false, err
		}
		q = q.Where("id > ?", c.I)
	}
	if err := q.Order("id ASC").Limit(limit + 1).Find(list).Error; err != nil {
		return "", false, err
	}
	if len(*list) <= limit {
		return "", false, nil
	}
	*list = (*list)[:limit]
	return encodeCursor(cursor{I: id((*list)[limit-1])}), true, nil
}
