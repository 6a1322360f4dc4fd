package recalc

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnqueueAppendsToOutboxAndFoldQueues(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	other := uuid.New()
	keys := []CustomerKey{f.key("cus_b"), f.key("cus_a"), f.key("cus_b"),
		{AccountID: f.account, SourceID: other, CustomerID: "cus_a"}}
	enqueueUnfolded(t, db, keys...)

	assert.Equal(t, 2, count(t, db, `SELECT count(*) FROM recalc_outbox WHERE account_id = $1`, f.account.String()),
		"one row per data source")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM recalc_outbox o, unnest(o.customer_ids) AS c
		WHERE o.account_id = $1`, f.account.String()), "each customer once")
	_, ok := queued(t, db, f.key("cus_a"))
	assert.False(t, ok, "not queued before a fold")
	_, stale, err := CustomerMetrics(context.Background(), db, f.key("cus_a"))
	require.NoError(t, err)
	assert.True(t, stale, "a customer named by the outbox is stale already")

	n, err := fold(context.Background(), db)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox WHERE account_id = $1`, f.account.String()))
	for _, k := range keys {
		row, ok := queued(t, db, k)
		require.True(t, ok, "%v queued", k)
		assert.EqualValues(t, 1, row.version)
	}
	_, stale, err = CustomerMetrics(context.Background(), db, f.key("cus_a"))
	require.NoError(t, err)
	assert.True(t, stale)
}

func TestFoldTakesEveryPendingRow(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	// More outbox rows than one fold statement takes, naming 50 customers over and over.
	for i := range foldRows*2 + 7 {
		enqueueUnfolded(t, db, f.key("cus_"+string(rune('a'+i%25))), f.key("cus_"+string(rune('A'+i%25))))
	}
	_, err := fold(context.Background(), db)
	require.NoError(t, err)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox`))
	assert.Equal(t, 50, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, f.account.String()))
}

func TestWriteDuringComputationStillInOutboxRunsAgain(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueue(t, db, key)

	p := NewPool(db, testConfig(july15(t)))
	// A write commits between computing and writing back, and no fold sees it before the
	// write-back deletes the queue row: the outbox still names the customer.
	injected := false
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		if !injected {
			injected = true
			f.addInvoices(t, key.CustomerID, testInvoice{id: "i2", typ: "subscription", date: "2024-07-01",
				start: "2024-07-01", end: "2024-08-01", amount: 100, currency: "USD"})
			enqueueUnfolded(t, db, key)
		}
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ms, stale, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.True(t, stale, "the metrics predate a committed write")
	require.Len(t, ms, 1)
	assert.EqualValues(t, 9900, ms[0].MRRCents)

	assert.Equal(t, 1, drain(t, p))
	ms, stale, err = CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 10000, ms[0].MRRCents)
}
