package recalc

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// loadSQL reads the non-archived invoices of every customer of a batch in one query, only the
// columns Compute needs. Each row carries the ordinal of its customer in the arrays, so grouping is
// an index, not a key comparison. invoices_by_customer serves the join.
const loadSQL = `
SELECT c.n, i.type, i.date, i.start_date, i.end_date, i.amount_cents, coalesce(i.discount, 0),
       i.currency, coalesce(i.subscription_id, '')
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS c(account_id, source_id, customer_id, n)
JOIN invoices i ON i.account_id = c.account_id AND i.source_id = c.source_id AND i.customer_id = c.customer_id
WHERE i.archived_at IS NULL`

// load returns the non-archived invoices of each item's customer, indexed like items.
func (p *Pool) load(ctx context.Context, items []item) ([][]Invoice, error) {
	a := arraysOf(keysOf(items))
	rows, err := p.db.SQL.QueryContext(ctx, loadSQL, a.accounts, a.sources, a.customers)
	if err != nil {
		return nil, fmt.Errorf("load invoices: %w", err)
	}
	defer rows.Close()
	out := make([][]Invoice, len(items))
	for rows.Next() {
		var n int
		var inv Invoice
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

// result is one customer's outcome: its metrics and next change, or why it could not be computed.
type result struct {
	metrics    []Metrics
	nextChange time.Time
	err        error
}

// computeAll computes every customer of a batch at t. A customer whose computation fails (an error
// from the test hook, a panic) gets an err and is recorded as failed on its own; the others are
// unaffected, so one pathological customer never holds back its batch.
func (p *Pool) computeAll(invoices [][]Invoice, items []item, t time.Time) []result {
	out := make([]result, len(items))
	for i := range items {
		out[i] = p.computeOne(items[i].key, invoices[i], t)
	}
	return out
}

// computeOne computes one customer, turning a panic into an error: a bug triggered by one
// customer's data must fail that customer (visibly, in last_error), not crash the process and
// with it every other customer's recalculation.
func (p *Pool) computeOne(key CustomerKey, invoices []Invoice, t time.Time) (r result) {
	defer func() {
		if v := recover(); v != nil {
			// The stack goes to the log; last_error keeps the value, which is what tells customers apart.
			p.cfg.Log.Error("recalc: panic computing metrics", "customer", key.CustomerID,
				"source", key.SourceID, "account", key.AccountID, "panic", v, "stack", string(debug.Stack()))
			r = result{err: fmt.Errorf("panic computing metrics: %v", v)}
		}
	}()
	if p.hooks.compute != nil {
		if err := p.hooks.compute(key); err != nil {
			return result{err: err}
		}
	}
	ms, next := Compute(invoices, t)
	return result{metrics: ms, nextChange: next}
}
