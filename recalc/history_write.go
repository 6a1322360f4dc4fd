package recalc

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"invoice-ingest/models"
)

// The write-back makes the stored history of its customers equal to the computed rows, writing
// only the rows that differ: a recalculation that moves nothing (most of them: a write to one
// invoice moves a few months at most) writes no history row, so leaves no dead tuple and no new
// index entry. It reads the customers' stored rows (one primary-key range scan per customer),
// compares them with the computed ones here, then deletes the stored rows that are gone or
// differ, by their ctid, and inserts the computed rows that are new or differ, with a plain
// INSERT. Two writers never race on a customer's rows: only the holder of its queue row writes
// them, under that row's lock (lockOwned), so the ctids read stay valid until the delete, and no
// insert can conflict.
//
// An upsert (INSERT ... ON CONFLICT DO UPDATE) did the same in one statement fewer, but paid per
// row an extra index descent, a speculative insertion and, for a stored row, a row lock even when
// nothing changed; for a new customer, whose rows are all new, this costs nothing but the read.
// Each statement names the account as a scalar, a shape Citus plans on one shard.
var storedHistorySQL = `
SELECT c.n, t.tid::text, t.currency, t.month, t.mrr_cents, t.change_cents, t.movement` +
	storedRowsSQL("unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS c(source_id, customer_id, n)",
		"customer_mrr_history", "t.ctid AS tid, t.currency, t.month, t.mrr_cents, t.change_cents, t.movement", "")

const deleteHistorySQL = `
DELETE FROM customer_mrr_history WHERE account_id = $1 AND ctid = ANY ($2::text[]::tid[])`

const insertHistorySQL = `
INSERT INTO customer_mrr_history (account_id, source_id, customer_id, currency, month,
    mrr_cents, change_cents, movement)
SELECT $1::uuid, n.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::bigint[],
    $7::bigint[], $8::text[]) AS n`

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
	gone, fresh := w.history.diff(w.written, stored)
	if len(gone) > 0 {
		// The account is the batch's, not the computed rows' (w.history has none for a customer
		// whose every invoice was archived, and its rows must still go).
		if err := tx.WithContext(ctx).Exec(deleteHistorySQL, models.Prepared(tx, w.account(), gone)...).Error; err != nil {
			return fmt.Errorf("delete history: %w", err)
		}
	}
	if len(fresh.customers) == 0 {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(insertHistorySQL, models.Prepared(tx, fresh.account, fresh.sources,
		fresh.customers, fresh.currencies, fresh.months, fresh.mrr, fresh.change, fresh.movement)...).Error; err != nil {
		return fmt.Errorf("insert history: %w", err)
	}
	return nil
}

// storedMonth is one stored history row of a customer: where it is, and what it says.
type storedMonth struct {
	tid    string
	change HistoryChange
}

// monthKey names a history row within one customer's: its currency and month (Unix seconds of
// the month's first instant; a time.Time is no map key, its == compares more than the instant).
type monthKey struct {
	currency string
	month    int64
}

// readHistory returns the stored history rows of keys (whose queue rows the write-back holds),
// indexed like keys.
func readHistory(ctx context.Context, tx *gorm.DB, keys []CustomerKey) ([]map[monthKey]storedMonth, error) {
	rows, err := tx.WithContext(ctx).Raw(storedHistorySQL, models.Prepared(tx, keyArgs(keys)...)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	out := make([]map[monthKey]storedMonth, len(keys))
	for rows.Next() {
		var n int
		var s storedMonth
		c := &s.change
		if err := rows.Scan(&n, &s.tid, &c.Currency, &c.Month, &c.MRRCents, &c.ChangeCents, &c.Movement); err != nil {
			return nil, fmt.Errorf("scan history: %w", err)
		}
		c.Month = c.Month.UTC()
		if out[n-1] == nil {
			out[n-1] = map[monthKey]storedMonth{}
		}
		out[n-1][monthKey{c.Currency, c.Month.Unix()}] = s
	}
	return out, rows.Err()
}

// diff compares h, the computed rows of customers (in their order), with what is stored, and
// returns the ctids of the stored rows to delete (gone, or differing) and the rows to insert (new,
// or differing).
func (h *historyRows) diff(customers []CustomerKey, stored []map[monthKey]storedMonth) (gone []string, fresh historyRows) {
	if !slices.ContainsFunc(stored, func(m map[monthKey]storedMonth) bool { return len(m) > 0 }) {
		return nil, *h // nothing stored (new customers): every computed row is new
	}
	fresh.account = h.account
	i := 0 // h's rows are grouped by customer, in the order of customers
	for n, key := range customers {
		have := stored[n]
		for ; i < len(h.customers) && h.sources[i] == key.SourceID && h.customers[i] == key.CustomerID; i++ {
			c := h.row(i)
			k := monthKey{c.Currency, c.Month.Unix()}
			if s, ok := have[k]; ok {
				delete(have, k)
				if sameMonth(s.change, c) {
					continue
				}
				gone = append(gone, s.tid)
			}
			fresh.addRow(key, c)
		}
		for _, s := range have {
			gone = append(gone, s.tid)
		}
	}
	return gone, fresh
}

// sameMonth reports whether two history rows of one customer say the same.
func sameMonth(a, b HistoryChange) bool {
	return a.Currency == b.Currency && a.Month.Equal(b.Month) && a.MRRCents == b.MRRCents &&
		a.ChangeCents == b.ChangeCents && a.Movement == b.Movement
}

// historyRows is customer_mrr_history rows column-wise, for one INSERT ... SELECT FROM unnest.
type historyRows struct {
	keyArrays
	currencies  []string
	months      []time.Time
	mrr, change []int64
	movement    []string
}

// grow makes room for n more rows.
func (h *historyRows) grow(n int) {
	h.keyArrays.grow(n)
	h.currencies = slices.Grow(h.currencies, n)
	h.months = slices.Grow(h.months, n)
	h.mrr, h.change = slices.Grow(h.mrr, n), slices.Grow(h.change, n)
	h.movement = slices.Grow(h.movement, n)
}

// add appends one customer's history rows.
func (h *historyRows) add(key CustomerKey, changes []HistoryChange) {
	for _, c := range changes {
		h.addRow(key, c)
	}
}

// addRow appends one history row of key.
func (h *historyRows) addRow(key CustomerKey, c HistoryChange) {
	h.keyArrays.add(key)
	h.currencies = append(h.currencies, c.Currency)
	h.months = append(h.months, c.Month)
	h.mrr = append(h.mrr, c.MRRCents)
	h.change = append(h.change, c.ChangeCents)
	h.movement = append(h.movement, c.Movement)
}

// row returns h's row i.
func (h *historyRows) row(i int) HistoryChange {
	return HistoryChange{Currency: h.currencies[i], Month: h.months[i], MRRCents: h.mrr[i],
		ChangeCents: h.change[i], Movement: h.movement[i]}
}
