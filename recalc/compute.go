package recalc

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// load returns the non-archived invoices of the first items' customers whose invoices fit under
// Config.BatchInvoices, indexed like items, and how many items that is (at least one), in one
// query (models owns the invoices table). A claim holds one account's customers.
func (p *Pool) load(ctx context.Context, items []item) ([][]Invoice, int, error) {
	if len(items) == 0 {
		return nil, 0, nil
	}
	return p.db.MetricInvoices(ctx, items[0].key.AccountID, keysOf(items), p.invoiceCap())
}

// invoiceCap is the limit Config.BatchInvoices sets on a batch's load (0: none).
func (p *Pool) invoiceCap() int { return max(p.cfg.BatchInvoices, 0) }

// result is one customer's outcome: its metrics, monthly history and next change, or why it could
// not be computed.
type result struct {
	metrics    []Metrics
	history    []HistoryChange
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
	history, nextMonth := History(invoices, t)
	// The history changes at the next month start when MRR does, even when no invoice instant
	// falls there (a period ending mid-month shows as the next month's churn).
	next = earliestAfter(next, nextMonth, t)
	return result{metrics: ms, history: history, nextChange: next}
}
