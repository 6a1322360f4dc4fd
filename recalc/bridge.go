package recalc

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/models"
)

// Scope is what an account-level read covers: one account, all its sources (SourceID uuid.Nil)
// or one, all currencies (Currency "") or one.
type Scope struct {
	AccountID uuid.UUID
	SourceID  uuid.UUID
	Currency  string
}

// where returns the SQL condition restricting alias's rows to s (account, source, currency) and
// its arguments, numbered from $n on; the currency is left out when withCurrency is false.
func (s Scope) where(alias string, n int, withCurrency bool) (string, []any) {
	cond := fmt.Sprintf("%s.account_id = $%d", alias, n)
	args := []any{[16]byte(s.AccountID)}
	if s.SourceID != uuid.Nil {
		args = append(args, [16]byte(s.SourceID))
		cond += fmt.Sprintf(" AND %s.source_id = $%d", alias, n+len(args)-1)
	}
	if withCurrency && s.Currency != "" {
		args = append(args, s.Currency)
		cond += fmt.Sprintf(" AND %s.currency = $%d", alias, n+len(args)-1)
	}
	return cond, args
}

// sat is the SQL of a numeric sum clamped to the bigint range: sums of bigint are numeric in
// PostgreSQL, so they never overflow, and clamping keeps the scan into int64 from failing.
func sat(expr string) string {
	return "LEAST(GREATEST(" + expr + ", -9223372036854775808), 9223372036854775807)::bigint"
}

// BridgeMonth is the account's MRR movements of one month in one currency. Contraction and churn
// are negative. MRRCents is the previous month's plus the five movements, exactly.
type BridgeMonth struct {
	Month                time.Time
	Currency             string
	MRRCents             int64
	Customers            int64 // customers with MRR > 0 at the month's first instant
	NewCents             int64
	ExpansionCents       int64
	ContractionCents     int64
	ChurnCents           int64
	ReactivationCents    int64
	NewCustomers         int64
	ChurnedCustomers     int64
	ReactivatedCustomers int64
}

// bridgeSQL aggregates the scope's history per currency and month up to month $1: one row per
// month in which something changed. Running sums (MRR, customers) and the months without change
// are made in Go over these grouped rows, which are few (currencies × months).
func bridgeSQL(cond string) string {
	sum := func(movement string) string {
		return sat("coalesce(sum(u.change_cents) FILTER (WHERE u.movement = '" + movement + "'), 0)")
	}
	count := func(movement string) string {
		return "count(*) FILTER (WHERE u.movement = '" + movement + "')"
	}
	return `
SELECT h.currency, u.month, ` + sum(MovementNew) + `, ` + sum(MovementExpansion) + `, ` +
		sum(MovementContraction) + `, ` + sum(MovementChurn) + `, ` + sum(MovementReactivation) + `,
       ` + count(MovementNew) + `, ` + count(MovementChurn) + `, ` + count(MovementReactivation) + `
FROM customer_mrr_history h,
     unnest(h.months, h.change_cents, h.movements) AS u(month, change_cents, movement)
WHERE ` + cond + ` AND u.month <= $1::date
GROUP BY h.currency, u.month
ORDER BY h.currency COLLATE "C", u.month`
}

// AccountMRR returns the scope's MRR bridge per month and currency from from to to (first
// instants of months), each currency starting at its first month with history or at from if
// later, and how many of the scope's customers are stale. From stored history only, in one
// read-only snapshot.
func AccountMRR(ctx context.Context, db *models.DB, s Scope, from, to time.Time) ([]BridgeMonth, int64, error) {
	var out []BridgeMonth
	var stale int64
	err := inSnapshot(ctx, db, func(tx *sql.Tx) error {
		cond, args := s.where("h", 2, true)
		rows, err := tx.QueryContext(ctx, bridgeSQL(cond), append([]any{to}, args...)...)
		if err != nil {
			return fmt.Errorf("read bridge: %w", err)
		}
		defer rows.Close()
		var grouped []BridgeMonth
		for rows.Next() {
			var b BridgeMonth
			if err := rows.Scan(&b.Currency, &b.Month, &b.NewCents, &b.ExpansionCents, &b.ContractionCents,
				&b.ChurnCents, &b.ReactivationCents, &b.NewCustomers, &b.ChurnedCustomers,
				&b.ReactivatedCustomers); err != nil {
				return fmt.Errorf("scan bridge: %w", err)
			}
			b.Month = utcDate(b.Month)
			grouped = append(grouped, b)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read bridge: %w", err)
		}
		out = fillBridge(grouped, from, to)
		stale, err = staleCount(ctx, tx, s)
		return err
	})
	return out, stale, err
}
