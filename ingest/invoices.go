package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/validation"
)

var invoiceKind = &kind[validation.Invoice]{
	noun:       "invoice",
	table:      "invoices",
	archived:   "archived_at IS NOT NULL",
	parse:      validation.ParseInvoice,
	parseValid: validation.ParseInvoiceValidJSON,
	ident:      func(v *validation.Invoice) (string, string) { return v.ID, v.DataSource },
	hash: func(h *hasher, v *validation.Invoice) digest {
		return h.start().str(v.CustomerID).str(v.Type).time(v.Date).int(v.AmountCents).str(v.Currency).
			str(v.PlanID).str(v.SubscriptionID).time(v.StartDate).time(v.EndDate).
			optInt(v.Quantity).optInt(v.Discount).sum()
	},
	check:    checkInvoiceReferences,
	write:    writeInvoices,
	customer: func(v *validation.Invoice) string { return v.CustomerID },
}

// checkInvoiceReferences marks invoices whose customer or plan does not exist in their source:
// one query for the customers and one for the plans of the whole group.
func checkInvoiceReferences(ctx context.Context, db queryer, account, source uuid.UUID, rows []*row[validation.Invoice]) error {
	var customers, plans []string
	seen := make(map[string]bool)
	for _, r := range rows {
		if !seen[r.val.CustomerID] {
			seen[r.val.CustomerID] = true
			customers = append(customers, r.val.CustomerID)
		}
	}
	clear(seen)
	for _, r := range rows {
		if p := r.val.PlanID; p != "" && !seen[p] {
			seen[p] = true
			plans = append(plans, p)
		}
	}
	haveCustomer, err := existing(ctx, db, "customers", account, source, customers)
	if err != nil {
		return err
	}
	havePlan, err := existing(ctx, db, "plans", account, source, plans)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !haveCustomer[r.val.CustomerID] {
			r.errs = append(r.errs, validation.FieldError{Field: "customer_id", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Customer ID %s does not exist", r.val.CustomerID)})
		}
		if r.val.PlanID != "" && !havePlan[r.val.PlanID] {
			r.errs = append(r.errs, validation.FieldError{Field: "plan_id", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Plan ID %s does not exist", r.val.PlanID)})
		}
	}
	return nil
}

// writeInvoices upserts invoices of one source in one statement. Upserting an archived invoice
// restores it, so an archived row is rewritten even when its content is the same.
func writeInvoices(ctx context.Context, tx *sql.Tx, account, source uuid.UUID, now time.Time, rows []*row[validation.Invoice]) (map[string]bool, error) {
	n := len(rows)
	ids, customers, types, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dates, starts, ends := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	amounts := make([]int64, n)
	plans, subs := make([]string, n), make([]string, n) // "" is absent: nullif in the statement
	quantities, discounts := make([]*int64, n), make([]*int64, n)
	hashes, rawHashes := make([][]byte, n), make([][]byte, n)
	for i, r := range rows {
		rawHashes[i] = r.rawHash[:]
		v := r.val
		ids[i], customers[i], types[i], currencies[i] = v.ID, v.CustomerID, v.Type, v.Currency
		dates[i], starts[i], ends[i], amounts[i] = v.Date, v.StartDate, v.EndDate, v.AmountCents
		plans[i], subs[i] = v.PlanID, v.SubscriptionID
		quantities[i], discounts[i], hashes[i] = v.Quantity, v.Discount, r.hash[:]
	}
	rs, err := tx.QueryContext(ctx, `
INSERT INTO invoices AS t (account_id, source_id, id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.customer_id, r.type, r.date, r.amount_cents, r.currency, nullif(r.plan_id, ''),
    nullif(r.subscription_id, ''), r.start_date, r.end_date, r.quantity, r.discount, r.content_hash, r.raw_hash, $16, $16
FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[], $8::text[], $9::text[],
    $10::text[], $11::timestamptz[], $12::timestamptz[], $13::bigint[], $14::bigint[], $15::bytea[], $17::bytea[])
    AS r(id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash, raw_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    customer_id = excluded.customer_id, type = excluded.type, date = excluded.date,
    amount_cents = excluded.amount_cents, currency = excluded.currency, plan_id = excluded.plan_id,
    subscription_id = excluded.subscription_id, start_date = excluded.start_date, end_date = excluded.end_date,
    quantity = excluded.quantity, discount = excluded.discount, content_hash = excluded.content_hash,
    raw_hash = excluded.raw_hash, updated_at = excluded.updated_at, archived_at = NULL
WHERE t.content_hash <> excluded.content_hash OR t.archived_at IS NOT NULL
RETURNING t.id, t.xmax = 0`,
		prepared, [16]byte(account), [16]byte(source), ids, customers, types, dates, amounts, currencies, plans, subs, starts, ends,
		quantities, discounts, hashes, now, rawHashes)
	if err != nil {
		return nil, err
	}
	return writtenIDs(rs, n)
}
