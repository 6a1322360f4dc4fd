package recalc

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"invoice-ingest/models"
)

// A customer's history is stored as one row per currency, a series: the months of change with
// their MRR, change and movement as arrays of equal length (migration 00013 says why). The
// write-back makes the stored series of its customers equal to the computed ones, writing only the
// series that differ: a recalculation that moves nothing (most of them: a write to one invoice
// moves a few months at most) writes no history row, so leaves no dead tuple and no new index
// entry. It reads the customers' stored series (one primary-key range scan per customer, unnested
// to months), compares them with the computed ones here, then deletes the stored series that are
// gone or differ, by their ctid, and inserts the computed series that are new or differ, with a
// plain INSERT. Two writers never race on a customer's rows: only the holder of its queue row
// writes them, under that row's lock (lockOwned), so the ctids read stay valid until the delete,
// and no insert can conflict. Each statement names the account as a scalar, a shape Citus plans on
// one shard.
var storedHistorySQL = `
SELECT c.n, t.tid::text, t.currency, u.month, u.mrr_cents, u.change_cents, u.movement` +
	storedRowsSQL("unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS c(source_id, customer_id, n)",
		"customer_mrr_history", "t.ctid AS tid, t.currency, t.months, t.mrr_cents, t.change_cents, t.movements", "") + `,
         unnest(t.months, t.mrr_cents, t.change_cents, t.movements) AS u(month, mrr_cents, change_cents, movement)`

const deleteHistorySQL = `
DELETE FROM customer_mrr_history WHERE account_id = $1 AND ctid = ANY ($2::text[]::tid[])`

// insertHistorySQL takes each series' arrays as array literals, one text per series: a series'
// months are ragged, which no binary parameter of one statement can carry, and literals cost
// PostgreSQL less than building the arrays from flat ones (by slicing or array_agg).
const insertHistorySQL = `
INSERT INTO customer_mrr_history (account_id, source_id, customer_id, currency, months,
    mrr_cents, change_cents, movements)
SELECT $1::uuid, n.source_id, n.customer_id, n.currency, n.months::date[], n.mrr::bigint[],
    n.change::bigint[], n.movements::text[]
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
    AS n(source_id, customer_id, currency, months, mrr, change, movements)`

// storeHistory stores the written customers' monthly MRR history, in the write-back transaction
// that replaces their metrics: history is never half-updated and exactly as fresh as the metrics.
// Customers whose computation failed are not among w.written and keep their old history.
func (w *writeBack) storeHistory(ctx context.Context, tx *gorm.DB) error {
	if len(w.written) == 0 {
		return nil
	}
	stored, err := readHistory(ctx, tx, w.written)
	if err != nil {
		return err
	}
	gone, fresh := diffHistory(w.written, w.histories, stored)
	if len(gone) > 0 {
		// The account is the batch's, not the computed rows' (a customer whose every invoice was
		// archived has none, and its rows must still go).
		if err := tx.WithContext(ctx).Exec(deleteHistorySQL, models.Prepared(tx, w.account(), gone)...).Error; err != nil {
			return fmt.Errorf("delete history: %w", err)
		}
	}
	if len(fresh.customers) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(insertHistorySQL, models.Prepared(tx, fresh.account, fresh.sources,
		fresh.customers, fresh.currencies, fresh.months, fresh.mrr, fresh.change, fresh.movements)...).Error; err != nil {
		return fmt.Errorf("insert history: %w", err)
	}
	return nil
}

// storedSeries is one stored history row of a customer, its series in one currency: where it is,
// and its months of change in month order.
type storedSeries struct {
	tid     string
	changes []HistoryChange
}

// readHistory returns the stored series of keys (whose queue rows the write-back holds) by
// currency, indexed like keys.
func readHistory(ctx context.Context, tx *gorm.DB, keys []CustomerKey) ([]map[string]*storedSeries, error) {
	rows, err := tx.WithContext(ctx).Raw(storedHistorySQL, models.Prepared(tx, keyArgs(keys)...)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	out := make([]map[string]*storedSeries, len(keys))
	for rows.Next() {
		var n int
		var tid string
		var c HistoryChange
		if err := rows.Scan(&n, &tid, &c.Currency, &c.Month, &c.MRRCents, &c.ChangeCents, &c.Movement); err != nil {
			return nil, fmt.Errorf("scan history: %w", err)
		}
		c.Month = c.Month.UTC()
		if out[n-1] == nil {
			out[n-1] = map[string]*storedSeries{}
		}
		s := out[n-1][c.Currency]
		if s == nil {
			s = &storedSeries{tid: tid}
			out[n-1][c.Currency] = s
		}
		s.changes = append(s.changes, c)
	}
	return out, rows.Err()
}

// diffHistory compares computed, the history of each of customers (History's order: by month,
// then currency), with what is stored, and returns the ctids of the stored series to delete (gone,
// or differing) and the series to insert (new, or differing).
func diffHistory(customers []CustomerKey, computed [][]HistoryChange, stored []map[string]*storedSeries) (gone []string, fresh seriesRows) {
	for n, key := range customers {
		have := stored[n]
		for _, series := range byCurrency(computed[n]) {
			if s, ok := have[series[0].Currency]; ok {
				delete(have, series[0].Currency)
				if slices.EqualFunc(s.changes, series, sameMonth) {
					continue
				}
				gone = append(gone, s.tid)
			}
			fresh.add(key, series)
		}
		for _, s := range have {
			gone = append(gone, s.tid)
		}
	}
	return gone, fresh
}

// byCurrency splits a customer's history (by month, then currency) into one series per currency,
// each in month order.
func byCurrency(changes []HistoryChange) [][]HistoryChange {
	if len(changes) == 0 {
		return nil
	}
	first := changes[0].Currency
	if !slices.ContainsFunc(changes, func(c HistoryChange) bool { return c.Currency != first }) {
		return [][]HistoryChange{changes} // one currency, the common case: no copy
	}
	var out [][]HistoryChange
	at := map[string]int{}
	for _, c := range changes {
		i, ok := at[c.Currency]
		if !ok {
			i = len(out)
			at[c.Currency] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

// sameMonth reports whether two history rows of one customer say the same.
func sameMonth(a, b HistoryChange) bool {
	return a.Currency == b.Currency && a.Month.Equal(b.Month) && a.MRRCents == b.MRRCents &&
		a.ChangeCents == b.ChangeCents && a.Movement == b.Movement
}

// seriesRows is customer_mrr_history rows column-wise, for one INSERT ... SELECT FROM unnest: one
// row per customer and currency, its arrays as PostgreSQL array literals.
type seriesRows struct {
	keyArrays
	currencies                     []string
	months, mrr, change, movements []string
	buf                            []byte // scratch for the literals
}

// add appends one series (one customer's months of change in one currency, in month order).
func (r *seriesRows) add(key CustomerKey, series []HistoryChange) {
	r.keyArrays.add(key)
	r.currencies = append(r.currencies, series[0].Currency)
	r.months = append(r.months, r.literal(series, func(b []byte, c *HistoryChange) []byte {
		return c.Month.AppendFormat(b, time.DateOnly)
	}))
	r.mrr = append(r.mrr, r.literal(series, func(b []byte, c *HistoryChange) []byte {
		return strconv.AppendInt(b, c.MRRCents, 10)
	}))
	r.change = append(r.change, r.literal(series, func(b []byte, c *HistoryChange) []byte {
		return strconv.AppendInt(b, c.ChangeCents, 10)
	}))
	r.movements = append(r.movements, r.literal(series, func(b []byte, c *HistoryChange) []byte {
		return append(b, c.Movement...) // one of five lower-case words: never quoted
	}))
}

// literal returns the array literal ({a,b,c}) of one value of each of series, as elem appends it.
func (r *seriesRows) literal(series []HistoryChange, elem func([]byte, *HistoryChange) []byte) string {
	b := append(r.buf[:0], '{')
	for i := range series {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &series[i])
	}
	b = append(b, '}')
	r.buf = b
	return string(b)
}
