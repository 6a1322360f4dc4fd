package recalc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// storedHistory reads a customer's stored history rows as changesText renders them.
func storedHistory(t *testing.T, f *fixture, customer string) []string {
	t.Helper()
	rows, err := f.db.SQL.QueryContext(context.Background(), `
		SELECT h.currency, u.month, u.mrr_cents, u.change_cents, u.movement FROM customer_mrr_history h,
		    unnest(h.months, h.mrr_cents, h.change_cents, h.movements) AS u(month, mrr_cents, change_cents, movement)
		WHERE account_id = $1 AND source_id = $2 AND customer_id = $3 ORDER BY month, currency`,
		f.account.String(), f.source.String(), customer)
	require.NoError(t, err)
	defer rows.Close()
	var out []HistoryChange
	for rows.Next() {
		var c HistoryChange
		require.NoError(t, rows.Scan(&c.Currency, &c.Month, &c.MRRCents, &c.ChangeCents, &c.Movement))
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return changesText(out)
}

// The write-back stores history with the metrics; an update of an old invoice rewrites past
// months after the recalculation, the customer is stale until then, and a failed computation
// keeps the old history.
func TestHistoryFollowsWrites(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	clk := newClock(day(t, "2024-07-15"))
	p := NewPool(db, testConfig(clk.now))
	f.addInvoices(t, "c1", sub("a", "USD", 3000, "2024-01-01", "2024-04-01"), sub("b", "USD", 4000, "2024-04-01", "2024-07-01"))
	enqueue(t, db, f.key("c1"))
	drain(t, p)
	require.Equal(t, []string{"2024-01 USD 1000 +1000 new", "2024-04 USD 1333 +333 expansion", "2024-07 USD 0 -1333 churn"},
		storedHistory(t, f, "c1"))

	ctx := context.Background()
	jan, jul := day(t, "2024-01-01"), day(t, "2024-07-01")
	months, stale, err := CustomerHistory(ctx, db, f.key("c1"), jan, jul)
	require.NoError(t, err)
	require.False(t, stale)
	require.Len(t, months, 7)
	require.Equal(t, MonthMRR{Month: day(t, "2024-02-01"), Currency: "USD", MRRCents: 1000}, months[1])

	// An old invoice changes: past months change, but only after the recalculation.
	_, err = db.SQL.ExecContext(ctx, `UPDATE invoices SET amount_cents = 6000 WHERE account_id = $1 AND id = 'c1/a'`, f.account.String())
	require.NoError(t, err)
	enqueue(t, db, f.key("c1"))
	months, stale, err = CustomerHistory(ctx, db, f.key("c1"), jan, jul)
	require.NoError(t, err)
	require.True(t, stale)
	require.EqualValues(t, 1000, months[0].MRRCents, "the old history stays until the recalculation")
	drain(t, p)
	require.Equal(t, []string{"2024-01 USD 2000 +2000 new", "2024-04 USD 1333 -667 contraction", "2024-07 USD 0 -1333 churn"},
		storedHistory(t, f, "c1"))

	// A failing computation keeps the old history.
	_, err = db.SQL.ExecContext(ctx, `UPDATE invoices SET archived_at = now() WHERE account_id = $1 AND id = 'c1/b'`, f.account.String())
	require.NoError(t, err)
	p.hooks.compute = func(CustomerKey) error { return errors.New("boom") }
	enqueue(t, db, f.key("c1"))
	_, _, err = p.runOnce(ctx)
	require.NoError(t, err)
	require.Len(t, storedHistory(t, f, "c1"), 3)
	p.hooks.compute = nil
	_, err = db.SQL.ExecContext(ctx, `UPDATE recalc_queue SET run_at = now() WHERE account_id = $1`, f.account.String())
	require.NoError(t, err)
	drain(t, p)
	require.Equal(t, []string{"2024-01 USD 2000 +2000 new", "2024-04 USD 0 -2000 churn"}, storedHistory(t, f, "c1"),
		"the archived invoice left the history")
}

// The account-level reads aggregate stored history and metrics, scoped by account and source.
func TestAccountReads(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	other := newFixture(t, db)
	p := NewPool(db, testConfig(func() time.Time { return day(t, "2024-06-15") }))
	f.addInvoices(t, "c1", sub("a", "USD", 1000, "2024-01-01", "2024-03-01"))
	f.addInvoices(t, "c2", sub("a", "USD", 3000, "2024-02-01", "2024-05-01"), sub("e", "EUR", 500, "2024-03-01", "2024-04-01"))
	other.addInvoices(t, "c1", sub("a", "USD", 777, "2024-01-01", "2024-12-01"))
	enqueue(t, db, f.key("c1"), f.key("c2"), other.key("c1"))
	drain(t, p)

	ctx := context.Background()
	bridge, stale, err := AccountMRR(ctx, db, Scope{AccountID: f.account}, day(t, "2023-01-01"), day(t, "2024-06-01"))
	require.NoError(t, err)
	require.Zero(t, stale)
	byKey := map[string]BridgeMonth{}
	for _, b := range bridge {
		byKey[b.Month.Format("2006-01")+" "+b.Currency] = b
	}
	require.Len(t, bridge, 6+4, "USD Jan..Jun, EUR Mar..Jun")
	require.EqualValues(t, 500, byKey["2024-01 USD"].MRRCents)
	require.EqualValues(t, 1500, byKey["2024-02 USD"].MRRCents)
	require.EqualValues(t, 2, byKey["2024-02 USD"].Customers)
	require.EqualValues(t, -500, byKey["2024-03 USD"].ChurnCents)
	require.EqualValues(t, 1, byKey["2024-03 USD"].ChurnedCustomers)
	require.EqualValues(t, 0, byKey["2024-06 USD"].MRRCents)

	totals, _, err := AccountTotals(ctx, db, Scope{AccountID: f.account, SourceID: f.source})
	require.NoError(t, err)
	require.Len(t, totals, 2)
	require.Equal(t, "EUR", totals[0].Currency)
	require.EqualValues(t, 2, totals[1].Customers)
	require.EqualValues(t, 0, totals[1].ActiveCustomers)
	require.EqualValues(t, 2, totals[1].ChurnedCustomers)

	none, _, err := AccountTotals(ctx, db, Scope{AccountID: f.account, SourceID: uuid.New()})
	require.NoError(t, err)
	require.Empty(t, none)
	enqueueUnfolded(t, db, f.key("c1"))
	_, stale, err = AccountMRR(ctx, db, Scope{AccountID: f.account, Currency: "EUR"}, day(t, "2024-01-01"), day(t, "2024-06-01"))
	require.NoError(t, err)
	require.EqualValues(t, 1, stale)
}

// historyRowVersions maps each of a customer's stored history rows, one per currency, to its xmin,
// the transaction that last wrote it.
func historyRowVersions(t *testing.T, f *fixture, customer string) map[string]string {
	t.Helper()
	return queryMap[string](t, f.db, `
		SELECT currency, xmin::text FROM customer_mrr_history
		WHERE account_id = $1 AND source_id = $2 AND customer_id = $3`,
		f.account.String(), f.source.String(), customer)
}

// A recalculation writes only the history that differs: an unchanged customer's rows are not
// rewritten (same xmin); when one currency's months change, that currency's row is replaced, the
// other currency's keeps its version, and a currency with no MRR left loses its row.
func TestHistoryWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	p := NewPool(db, testConfig(july15(t)))
	f.addInvoices(t, "c1", sub("a", "USD", 3000, "2024-01-01", "2024-04-01"), sub("b", "USD", 4000, "2024-04-01", "2024-07-01"),
		sub("e", "EUR", 500, "2024-03-01", "2024-04-01"))
	f.addInvoices(t, "c2", sub("a", "USD", 1000, "2024-02-01", "2024-03-01"), sub("g", "GBP", 700, "2024-02-01", "2024-03-01"))
	enqueue(t, db, f.key("c1"), f.key("c2"))
	drain(t, p)
	before := historyRowVersions(t, f, "c1")
	require.Len(t, before, 2)

	enqueue(t, db, f.key("c1"))
	drain(t, p)
	require.Equal(t, before, historyRowVersions(t, f, "c1"), "nothing changed: no row rewritten")

	ctx := context.Background()
	_, err := db.SQL.ExecContext(ctx, `UPDATE invoices SET amount_cents = 3000 WHERE account_id = $1 AND id = 'c1/b'`, f.account.String())
	require.NoError(t, err)
	_, err = db.SQL.ExecContext(ctx, `DELETE FROM invoices WHERE account_id = $1 AND id = 'c2/g'`, f.account.String())
	require.NoError(t, err)
	c2 := historyRowVersions(t, f, "c2")
	enqueue(t, db, f.key("c1"), f.key("c2"))
	drain(t, p)
	require.Equal(t, []string{"2024-01 USD 1000 +1000 new", "2024-03 EUR 500 +500 new", "2024-04 EUR 0 -500 churn",
		"2024-07 USD 0 -1000 churn"}, storedHistory(t, f, "c1"), "April's USD expansion is gone, July's churn changed")
	after := historyRowVersions(t, f, "c1")
	require.Equal(t, before["EUR"], after["EUR"], "EUR did not change: not rewritten")
	require.NotEqual(t, before["USD"], after["USD"])
	require.Equal(t, map[string]string{"USD": c2["USD"]}, historyRowVersions(t, f, "c2"),
		"c2's USD did not move; its GBP has no invoice left")
}
