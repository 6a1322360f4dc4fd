package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The upserts below write rows of one account and data source column by column: one INSERT ...
// SELECT FROM unnest(arrays) ON CONFLICT ... DO UPDATE per chunk, whose WHERE leaves a row alone
// when its stored content hash equals the new one, and whose RETURNING names each row written and
// whether it was inserted. They run in the caller's GORM transaction; rows must be sorted by id,
// so that overlapping batches lock rows in one order and cannot deadlock.

// Written is what an upsert did, by id: true inserted, false updated. A row left out was found
// identical and neither written nor returned.
type Written map[string]bool

// RowHashes are the two digests every upserted row carries: of its normalised content, and of the
// exact JSON text it was written from.
type RowHashes struct {
	Content [][]byte
	Raw     [][]byte
}

// CustomerColumns are customer rows, column by column.
type CustomerColumns struct {
	IDs, Names, Emails, Companies, Countries []string
	RowHashes
}

// PlanColumns are plan rows, column by column.
type PlanColumns struct {
	IDs, Names, IntervalUnits []string
	IntervalCounts            []int32
	RowHashes
}

// InvoiceColumns are invoice rows, column by column. An empty PlanIDs or SubscriptionIDs element
// is stored as NULL; a nil Quantities or Discounts element too.
type InvoiceColumns struct {
	IDs, CustomerIDs, Types, Currencies, PlanIDs, SubscriptionIDs []string
	Dates, StartDates, EndDates                                   []time.Time
	AmountCents                                                   []int64
	Quantities, Discounts                                         []*int64
	RowHashes
}

const upsertCustomersSQL = `
INSERT INTO customers AS t (account_id, source_id, id, name, email, company, country, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.name, r.email, r.company, r.country, r.content_hash, r.raw_hash, $9, $9
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $10::bytea[])
    AS r(id, name, email, company, country, content_hash, raw_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    name = excluded.name, email = excluded.email, company = excluded.company, country = excluded.country,
    content_hash = excluded.content_hash, raw_hash = excluded.raw_hash, updated_at = excluded.updated_at
WHERE t.content_hash <> excluded.content_hash
RETURNING t.id, t.xmax = 0`

// UpsertCustomers writes customers of one source in one statement.
func UpsertCustomers(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, c CustomerColumns) (Written, error) {
	rs, err := query(tx.WithContext(ctx), upsertCustomersSQL, preparedArgs(tx, [16]byte(account), [16]byte(source),
		c.IDs, c.Names, c.Emails, c.Companies, c.Countries, c.Content, now, c.Raw)...)
	return written(rs, err, Customers, len(c.IDs))
}

const upsertPlansSQL = `
INSERT INTO plans AS t (account_id, source_id, id, name, interval_unit, interval_count, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.name, r.interval_unit, r.interval_count, r.content_hash, r.raw_hash, $8, $8
FROM unnest($3::text[], $4::text[], $5::text[], $6::integer[], $7::bytea[], $9::bytea[])
    AS r(id, name, interval_unit, interval_count, content_hash, raw_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    name = excluded.name, interval_unit = excluded.interval_unit, interval_count = excluded.interval_count,
    content_hash = excluded.content_hash, raw_hash = excluded.raw_hash, updated_at = excluded.updated_at
WHERE t.content_hash <> excluded.content_hash
RETURNING t.id, t.xmax = 0`

// UpsertPlans writes plans of one source in one statement.
func UpsertPlans(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, p PlanColumns) (Written, error) {
	rs, err := query(tx.WithContext(ctx), upsertPlansSQL, preparedArgs(tx, [16]byte(account), [16]byte(source),
		p.IDs, p.Names, p.IntervalUnits, p.IntervalCounts, p.Content, now, p.Raw)...)
	return written(rs, err, Plans, len(p.IDs))
}

// insertInvoicesSQL is the head both invoice statements share: the rows as arrays.
const insertInvoicesSQL = `
INSERT INTO invoices AS t (account_id, source_id, id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.customer_id, r.type, r.date, r.amount_cents, r.currency, nullif(r.plan_id, ''),
    nullif(r.subscription_id, ''), r.start_date, r.end_date, r.quantity, r.discount, r.content_hash, r.raw_hash, $16, $16
FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[], $8::text[], $9::text[],
    $10::text[], $11::timestamptz[], $12::timestamptz[], $13::bigint[], $14::bigint[], $15::bytea[], $17::bytea[])
    AS r(id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash, raw_hash)`

// updateInvoicesSQL rewrites a stored invoice with the row proposed for it; it also restores an
// archived invoice, so an archived row is rewritten even when its content is the same.
const updateInvoicesSQL = `
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    customer_id = excluded.customer_id, type = excluded.type, date = excluded.date,
    amount_cents = excluded.amount_cents, currency = excluded.currency, plan_id = excluded.plan_id,
    subscription_id = excluded.subscription_id, start_date = excluded.start_date, end_date = excluded.end_date,
    quantity = excluded.quantity, discount = excluded.discount, content_hash = excluded.content_hash,
    raw_hash = excluded.raw_hash, updated_at = excluded.updated_at, archived_at = NULL
WHERE (t.content_hash <> excluded.content_hash OR t.archived_at IS NOT NULL)`

const upsertInvoicesSQL = insertInvoicesSQL + updateInvoicesSQL + `
RETURNING t.id, t.xmax = 0`

// upsertKeptInvoicesSQL rewrites only stored invoices that stay with their customer. ON CONFLICT
// DO UPDATE locks every conflicting row, also one its WHERE leaves alone: the rows it does not
// return are locked all the same, stored, and either unchanged or moved to another customer.
const upsertKeptInvoicesSQL = insertInvoicesSQL + updateInvoicesSQL + `
    AND t.customer_id = excluded.customer_id
RETURNING t.id, t.xmax = 0`

// insertNewInvoicesSQL inserts the rows no row is stored under and leaves the others alone
// (without locking them).
const insertNewInvoicesSQL = insertInvoicesSQL + `
ON CONFLICT (account_id, source_id, id) DO NOTHING
RETURNING t.id, true`

// UpsertInvoices writes invoices of one source in one statement.
func UpsertInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, v InvoiceColumns) (Written, error) {
	return invoices(ctx, tx, upsertInvoicesSQL, account, source, now, v)
}

// UpsertKeptInvoices is UpsertInvoices for the invoices a write does not move to another
// customer: it inserts the rows with no stored row, rewrites the stored rows that differ and keep
// their customer, and returns those. The rows it leaves out are stored and locked until the
// transaction ends, with their customer as stored: unchanged ones, and the moved ones, whose
// previous customer the write path then reads under that lock (LockInvoiceCustomers) before it
// upserts them. A write that moves nothing thus locks and reads nothing beforehand.
func UpsertKeptInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, v InvoiceColumns) (Written, error) {
	return invoices(ctx, tx, upsertKeptInvoicesSQL, account, source, now, v)
}

// InsertNewInvoices inserts, in one statement, the invoices of one source that have no stored row
// under their key, and returns them (all true); it leaves a stored row as it is and does not
// return it. The write path tries it first for rows the probe found absent: unlike an upsert, it
// needs no stored invoice locked beforehand to learn whose invoice an update moves.
func InsertNewInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, v InvoiceColumns) (Written, error) {
	return invoices(ctx, tx, insertNewInvoicesSQL, account, source, now, v)
}

func invoices(ctx context.Context, tx *gorm.DB, q string, account, source uuid.UUID, now time.Time, v InvoiceColumns) (Written, error) {
	rs, err := query(tx.WithContext(ctx), q, preparedArgs(tx, [16]byte(account), [16]byte(source),
		v.IDs, v.CustomerIDs, v.Types, v.Dates, v.AmountCents, v.Currencies, v.PlanIDs, v.SubscriptionIDs,
		v.StartDates, v.EndDates, v.Quantities, v.Discounts, v.Content, now, v.Raw)...)
	return written(rs, err, Invoices, len(v.IDs))
}

// written reads the RETURNING id, inserted rows of an upsert.
func written(rs *sql.Rows, err error, e Entity, n int) (Written, error) {
	if err != nil {
		return nil, fmt.Errorf("upsert %s: %w", e, err)
	}
	defer rs.Close()
	out := make(Written, n)
	for rs.Next() {
		var id string
		var inserted bool
		if err := rs.Scan(&id, &inserted); err != nil {
			return nil, fmt.Errorf("upsert %s: %w", e, err)
		}
		out[id] = inserted
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("upsert %s: %w", e, err)
	}
	return out, nil
}
