package recalc

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"invoice-ingest/models"
)

// MonthMRR is one month of a customer's MRR in one currency: the MRR at the month's first instant,
// the change from the previous month, and the movement ("" when there was no change).
type MonthMRR struct {
	Month       time.Time // first instant of the month, UTC
	Currency    string
	MRRCents    int64
	ChangeCents int64
	Movement    string
}

// customerHistorySQL returns the customer's stored history up to month $4 and whether the customer
// is stale, in one statement (one snapshot), as readSQL does for the current metrics.
const customerHistorySQL = `
SELECT EXISTS (SELECT 1 FROM recalc_queue q
               WHERE q.account_id = $1 AND q.source_id = $2 AND q.customer_id = $3)
       OR EXISTS (SELECT 1 FROM recalc_outbox o
                  WHERE o.account_id = $1 AND o.source_id = $2 AND $3 = ANY (o.customer_ids)),
       h.currency, h.month, h.mrr_cents, h.change_cents, h.movement
FROM (VALUES (1)) AS one
LEFT JOIN LATERAL (
    SELECT s.currency, u.month, u.mrr_cents, u.change_cents, u.movement
    FROM customer_mrr_history s,
         unnest(s.months, s.mrr_cents, s.change_cents, s.movements) AS u(month, mrr_cents, change_cents, movement)
    WHERE s.account_id = $1 AND s.source_id = $2 AND s.customer_id = $3 AND u.month <= $4::date) h ON true
ORDER BY h.currency COLLATE "C", h.month`

// CustomerHistory returns a customer's monthly MRR from month from to month to (first instants of
// months, UTC), ordered by month then currency, and whether the customer is stale. Each currency
// starts at its first month with MRR > 0, or at from if later; months without a stored change
// carry the previous MRR with no movement. Scoped by account.
func CustomerHistory(ctx context.Context, db *models.DB, key CustomerKey, from, to time.Time) ([]MonthMRR, bool, error) {
	rows, err := db.SQL.QueryContext(ctx, customerHistorySQL, [16]byte(key.AccountID), [16]byte(key.SourceID),
		key.CustomerID, to)
	if err != nil {
		return nil, false, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var stale bool
	var changes []MonthMRR
	for rows.Next() {
		var currency, movement sql.NullString
		var month sql.NullTime
		var mrr, change sql.NullInt64
		if err := rows.Scan(&stale, &currency, &month, &mrr, &change, &movement); err != nil {
			return nil, false, fmt.Errorf("scan history: %w", err)
		}
		if currency.Valid {
			changes = append(changes, MonthMRR{Month: utcDate(month.Time), Currency: currency.String,
				MRRCents: mrr.Int64, ChangeCents: change.Int64, Movement: movement.String})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read history: %w", err)
	}
	return fillMonths(changes, from, to), stale, nil
}

// fillMonths expands changes (sorted by currency, then month) into every month from each
// currency's first change (or from, if later) to to, sorted by month then currency.
func fillMonths(changes []MonthMRR, from, to time.Time) []MonthMRR {
	return perCurrency(changes, func(m *MonthMRR) (string, time.Time) { return m.Currency, m.Month },
		func(out, group []MonthMRR) []MonthMRR { return appendCurrency(out, group, from, to) })
}

// perCurrency expands rows (sorted by currency, then month) one currency at a time with expand,
// and sorts what it returns by month, then currency.
func perCurrency[T any](rows []T, key func(*T) (string, time.Time), expand func(out, group []T) []T) []T {
	var out []T
	for i := 0; i < len(rows); {
		cur, _ := key(&rows[i])
		j := i
		for j < len(rows) {
			if c, _ := key(&rows[j]); c != cur {
				break
			}
			j++
		}
		out = expand(out, rows[i:j])
		i = j
	}
	slices.SortStableFunc(out, func(a, b T) int {
		ca, ma := key(&a)
		cb, mb := key(&b)
		if c := ma.Compare(mb); c != 0 {
			return c
		}
		return strings.Compare(ca, cb)
	})
	return out
}

// appendCurrency appends one currency's months (changes sorted by month).
func appendCurrency(out, changes []MonthMRR, from, to time.Time) []MonthMRR {
	start := changes[0].Month
	if from.After(start) {
		start = from
	}
	var mrr int64
	k := 0
	for m := changes[0].Month; !m.After(to); m = m.AddDate(0, 1, 0) {
		row := MonthMRR{Month: m, Currency: changes[0].Currency, MRRCents: mrr}
		if k < len(changes) && changes[k].Month.Equal(m) {
			row = changes[k]
			mrr = row.MRRCents
			k++
		} else if k >= len(changes) && m.Before(start) {
			m = start.AddDate(0, -1, 0) // nothing changes any more: jump to the first month shown
			continue
		}
		if !m.Before(start) {
			out = append(out, row)
		}
	}
	return out
}

// utcDate is a date column's value as the first instant of that day in UTC.
func utcDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
