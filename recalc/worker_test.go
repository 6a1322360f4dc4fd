package recalc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkerStoresComputedMetrics(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	tests := []struct {
		name     string
		at       string
		invoices []testInvoice
		check    func(t *testing.T, ms []Metrics) // SPEC's figures, beyond "equals Compute"
	}{
		{
			name: "SPEC monthly subscription while active",
			at:   "2024-07-15",
			invoices: []testInvoice{{id: "i1", typ: "subscription", date: "2024-07-01", start: "2024-07-01",
				end: "2024-08-01", amount: 9900, currency: "USD"}},
			check: func(t *testing.T, ms []Metrics) {
				require.Len(t, ms, 1)
				assert.EqualValues(t, 9900, ms[0].MRRCents)
				assert.EqualValues(t, 118800, ms[0].ARRCents)
				assert.Equal(t, StatusActive, ms[0].Status)
			},
		},
		{
			name: "SPEC monthly subscription after it ended",
			at:   "2024-08-02",
			invoices: []testInvoice{{id: "i1", typ: "subscription", date: "2024-07-01", start: "2024-07-01",
				end: "2024-08-01", amount: 9900, currency: "USD"}},
			check: func(t *testing.T, ms []Metrics) {
				require.Len(t, ms, 1)
				assert.EqualValues(t, 0, ms[0].MRRCents)
				assert.Equal(t, StatusChurned, ms[0].Status)
			},
		},
		{
			name: "SPEC yearly subscription",
			at:   "2024-03-01",
			invoices: []testInvoice{{id: "i1", typ: "subscription", date: "2024-01-15", start: "2024-01-15",
				end: "2025-01-15", amount: 120000, currency: "EUR"}},
			check: func(t *testing.T, ms []Metrics) {
				require.Len(t, ms, 1)
				assert.EqualValues(t, 10000, ms[0].MRRCents)
			},
		},
		{
			name: "two currencies, discount, refund, one-time and cancellation",
			at:   "2024-07-20",
			invoices: []testInvoice{
				{id: "s1", typ: "subscription", date: "2024-07-01", start: "2024-07-01", end: "2024-08-01",
					amount: 5000, discount: 1000, currency: "USD", subID: "sub_1"},
				{id: "o1", typ: "one-time", date: "2024-07-02", start: "2024-07-02", end: "2024-07-02",
					amount: 700, currency: "USD"},
				{id: "r1", typ: "refund", date: "2024-07-03", start: "2024-07-03", end: "2024-07-03",
					amount: 200, currency: "USD"},
				{id: "s2", typ: "subscription", date: "2024-07-01", start: "2024-07-01", end: "2024-08-01",
					amount: 3000, currency: "EUR", subID: "sub_2"},
				{id: "c2", typ: "cancellation", date: "2024-07-10", start: "2024-07-10", end: "2024-07-10",
					currency: "EUR", subID: "sub_2"},
			},
			check: func(t *testing.T, ms []Metrics) {
				require.Len(t, ms, 2)
				assert.Equal(t, "EUR", ms[0].Currency)
				assert.Equal(t, StatusChurned, ms[0].Status)
				assert.Equal(t, "USD", ms[1].Currency)
				assert.EqualValues(t, 4000, ms[1].MRRCents)
				assert.EqualValues(t, 4000+700-200, ms[1].RevenueCents)
			},
		},
		{
			name: "future subscription only",
			at:   "2024-01-01",
			invoices: []testInvoice{{id: "i1", typ: "subscription", date: "2024-07-01", start: "2024-07-01",
				end: "2024-08-01", amount: 9900, currency: "USD"}},
			check: func(t *testing.T, ms []Metrics) {
				require.Len(t, ms, 1)
				assert.Equal(t, StatusNone, ms[0].Status)
			},
		},
	}
	// Each case is its own customer, all computed by one pool whose clock is set per run.
	clk := newClock(time.Time{})
	p := NewPool(db, testConfig(clk.now))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := f.key(tt.name)
			f.addInvoices(t, key.CustomerID, tt.invoices...)
			enqueue(t, db, key)
			at := day(t, tt.at)
			clk.set(at)
			n, _, err := p.runOnce(context.Background())
			require.NoError(t, err)
			require.Equal(t, 1, n)

			got, stale, err := CustomerMetrics(context.Background(), db, key)
			require.NoError(t, err)
			assert.False(t, stale)
			want, next := Compute(asInvoices(t, tt.invoices), at)
			assert.Equal(t, want, got)
			tt.check(t, got)
			for _, m := range got {
				assert.True(t, m.CalculatedAt.Equal(at), "calculated_at is the pool's clock")
			}

			var stored time.Time
			err = db.SQL.QueryRowContext(context.Background(), `SELECT next_change_at FROM customer_metric_schedule
				WHERE account_id = $1 AND source_id = $2 AND customer_id = $3`,
				key.AccountID.String(), key.SourceID.String(), key.CustomerID).Scan(&stored)
			if next.IsZero() {
				assert.Error(t, err, "no schedule row when nothing changes with time")
			} else {
				require.NoError(t, err)
				assert.True(t, next.Equal(stored), "next_change_at %v, want %v", stored, next)
			}
			_, ok := queued(t, db, key)
			assert.False(t, ok, "finished customer leaves the queue")
		})
	}
}

func TestWorkerRemovesMetricsWhenAllInvoicesArchived(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID,
		julySubscription,
		testInvoice{id: "i2", typ: "one-time", date: "2024-07-01", start: "2024-07-01", end: "2024-07-01", amount: 100, currency: "EUR"})
	enqueue(t, db, key)
	p := NewPool(db, testConfig(july15(t)))
	require.Equal(t, 1, drain(t, p))
	ms, _, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	require.Len(t, ms, 2)

	// Archive one currency's invoice: its metrics row goes.
	_, err = db.SQL.Exec(`UPDATE invoices SET archived_at = now() WHERE account_id = $1 AND currency = 'EUR'`, f.account.String())
	require.NoError(t, err)
	enqueue(t, db, key)
	require.Equal(t, 1, drain(t, p))
	ms, _, err = CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "USD", ms[0].Currency)

	// Archive the rest: no metrics, no history, no schedule, nothing queued.
	_, err = db.SQL.Exec(`UPDATE invoices SET archived_at = now() WHERE account_id = $1`, f.account.String())
	require.NoError(t, err)
	enqueue(t, db, key)
	require.Equal(t, 1, drain(t, p))
	ms, stale, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.Empty(t, ms)
	assert.False(t, stale)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_metrics`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_mrr_history`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_metric_schedule`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
}

func TestCustomerMetricsStale(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	ctx := context.Background()

	ms, stale, err := CustomerMetrics(ctx, db, key)
	require.NoError(t, err)
	assert.Empty(t, ms)
	assert.False(t, stale, "never queued")

	enqueue(t, db, key)
	ms, stale, err = CustomerMetrics(ctx, db, key)
	require.NoError(t, err)
	assert.Empty(t, ms)
	assert.True(t, stale, "queued")

	p := NewPool(db, testConfig(july15(t)))
	var staleWhileRunning bool
	p.hooks.beforeWrite = func(ctx context.Context, _ []CustomerKey) error {
		_, staleWhileRunning, err = CustomerMetrics(ctx, db, key)
		return err
	}
	require.Equal(t, 1, drain(t, p))
	assert.True(t, staleWhileRunning, "running")

	ms, stale, err = CustomerMetrics(ctx, db, key)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.False(t, stale, "computed")

	// Another account asking for the same source and customer id sees nothing.
	other := key
	other.AccountID = newFixture(t, db).account
	enqueue(t, db, key) // stale for its owner only
	ms, stale, err = CustomerMetrics(ctx, db, other)
	require.NoError(t, err)
	assert.Empty(t, ms)
	assert.False(t, stale)
}
