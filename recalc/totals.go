package recalc

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"invoice-ingest/models"
)

// fillBridge turns grouped (one row per currency and month with a change, sorted by currency then
// month) into every month from each currency's first change (or from, if later) to to, with the
// running MRR and customer count, sorted by month then currency.
func fillBridge(grouped []BridgeMonth, from, to time.Time) []BridgeMonth {
	return perCurrency(grouped, func(m *BridgeMonth) (string, time.Time) { return m.Currency, m.Month },
		func(out, group []BridgeMonth) []BridgeMonth { return appendBridge(out, group, from, to) })
}

// appendBridge appends one currency's months; the running sums cover every month from the first,
// also those before from, so the first month shown starts from the right MRR.
func appendBridge(out, grouped []BridgeMonth, from, to time.Time) []BridgeMonth {
	var mrr, customers int64
	k := 0
	for m := grouped[0].Month; !m.After(to); m = m.AddDate(0, 1, 0) {
		row := BridgeMonth{Month: m, Currency: grouped[0].Currency}
		if k < len(grouped) && grouped[k].Month.Equal(m) {
			row = grouped[k]
			k++
		} else if k >= len(grouped) && m.Before(from) {
			m = from.AddDate(0, -1, 0) // no more changes: jump to the first month shown
			row.Month = m
		}
		for _, c := range []int64{row.NewCents, row.ExpansionCents, row.ContractionCents, row.ChurnCents,
			row.ReactivationCents} {
			mrr = addSat(mrr, c)
		}
		customers += row.NewCustomers + row.ReactivatedCustomers - row.ChurnedCustomers
		row.MRRCents, row.Customers = mrr, customers
		if !m.Before(from) {
			out = append(out, row)
		}
	}
	return out
}

// Totals are the scope's current metrics in one currency, summed over its customers.
type Totals struct {
	Currency         string
	MRRCents         int64
	ARRCents         int64
	RevenueCents     int64
	Customers        int64 // customers with metrics in the currency
	ActiveCustomers  int64
	ChurnedCustomers int64
	CalculatedAt     time.Time // the latest calculation among them
}

// totalsSQL sums the scope's stored current metrics per currency.
func totalsSQL(cond string) string {
	return `
SELECT m.currency, ` + sat("sum(m.mrr_cents)") + `, ` + sat("sum(m.arr_cents)") + `, ` +
		sat("sum(m.revenue_cents)") + `, count(*), count(*) FILTER (WHERE m.status = 'active'),
       count(*) FILTER (WHERE m.status = 'churned'), max(m.calculated_at)
FROM customer_metrics m
WHERE ` + cond + `
GROUP BY m.currency
ORDER BY m.currency COLLATE "C"`
}

// AccountTotals returns the scope's current totals per currency (s.Currency is ignored), from the
// stored metrics, and how many of the scope's customers are stale, in one read-only snapshot. Sums
// saturate at the int64 bounds.
func AccountTotals(ctx context.Context, db *models.DB, s Scope) ([]Totals, int64, error) {
	var out []Totals
	var stale int64
	err := inSnapshot(ctx, db, func(tx *sql.Tx) error {
		cond, args := s.where("m", 1, false)
		rows, err := tx.QueryContext(ctx, totalsSQL(cond), args...)
		if err != nil {
			return fmt.Errorf("read totals: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t Totals
			if err := rows.Scan(&t.Currency, &t.MRRCents, &t.ARRCents, &t.RevenueCents, &t.Customers,
				&t.ActiveCustomers, &t.ChurnedCustomers, &t.CalculatedAt); err != nil {
				return fmt.Errorf("scan totals: %w", err)
			}
			t.CalculatedAt = t.CalculatedAt.UTC()
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read totals: %w", err)
		}
		stale, err = staleCount(ctx, tx, s)
		return err
	})
	return out, stale, err
}

// staleCount counts the scope's customers (account and source; currency does not apply) that are
// queued, running, waiting for a retry, or named by an outbox row not folded yet: the staleness
// rule of CustomerMetrics, for many customers in one statement.
func staleCount(ctx context.Context, tx *sql.Tx, s Scope) (int64, error) {
	qc, args := s.where("q", 1, false)
	oc, _ := s.where("o", 1, false)
	var n int64
	err := tx.QueryRowContext(ctx, `
SELECT count(*) FROM (
    SELECT q.source_id, q.customer_id FROM recalc_queue q WHERE `+qc+`
    UNION
    SELECT o.source_id, c.customer_id FROM recalc_outbox o, unnest(o.customer_ids) AS c(customer_id)
    WHERE `+oc+`
) s`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count stale customers: %w", err)
	}
	return n, nil
}

// inSnapshot runs f in a read-only REPEATABLE READ transaction: its statements see one snapshot,
// so totals and the stale count agree.
func inSnapshot(ctx context.Context, db *models.DB, f func(*sql.Tx) error) error {
	tx, err := db.SQL.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		return models.TxError(ctx, err)
	}
	return models.TxError(ctx, tx.Commit())
}
