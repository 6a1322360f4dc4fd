package recalc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManyWritesOneComputation(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	for range 1000 {
		enqueue(t, db, key)
	}
	row, ok := queued(t, db, key)
	require.True(t, ok)
	require.EqualValues(t, 1, row.version, "one queue row, left alone by writes while nobody holds it")

	p := NewPool(db, testConfig(july15(t)))
	var computations atomic.Int64
	p.hooks.compute = func(CustomerKey) error { computations.Add(1); return nil }
	assert.Equal(t, 1, drain(t, p))
	assert.EqualValues(t, 1, computations.Load())
	_, ok = queued(t, db, key)
	assert.False(t, ok)
}

func TestWriteDuringComputationRunsAgain(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key, bystander := f.key("cus_1"), f.key("cus_2")
	f.addInvoices(t, key.CustomerID, julySubscription)
	f.addInvoices(t, bystander.CustomerID, julySubscription)
	enqueue(t, db, key, bystander)

	p := NewPool(db, leased(testConfig(july15(t))))
	// Between computing and writing back, a write for cus_1 commits: a new invoice, queued in the
	// same transaction, as ingest does.
	second := testInvoice{id: "i2", typ: "subscription", date: "2024-07-01", start: "2024-07-01", end: "2024-08-01",
		amount: 100, currency: "USD"}
	injected := false
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		if !injected {
			injected = true
			f.addInvoices(t, key.CustomerID, second)
			enqueue(t, db, key)
		}
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "both computed")

	// The metrics written predate the write; the customer stays queued, released and due.
	ms, stale, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.True(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 9900, ms[0].MRRCents)
	row, ok := queued(t, db, key)
	require.True(t, ok, "still queued after a concurrent write")
	assert.EqualValues(t, 2, row.version)
	assert.False(t, row.locked)
	assert.Empty(t, row.lockedBy)
	assert.LessOrEqual(t, row.runAtIn, time.Duration(0), "due at once")
	_, ok = queued(t, db, bystander)
	assert.False(t, ok, "the other customer of the batch is done")

	// The next run reflects the write and empties the queue.
	assert.Equal(t, 1, drain(t, p))
	ms, stale, err = CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 10000, ms[0].MRRCents)
}

func TestTwoPoolsNeverComputeOneCustomerAtOnce(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	const customers = 600
	keys := make([]CustomerKey, customers)
	for i := range keys {
		keys[i] = f.key(fmt.Sprintf("cus_%04d", i))
		f.addInvoices(t, keys[i].CustomerID, testInvoice{id: "i", typ: "subscription", date: "2024-07-01",
			start: "2024-07-01", end: "2024-08-01", amount: int64(100 + i), currency: "USD"})
	}
	enqueue(t, db, keys...)

	// In flight from claim to write-back: a customer claimed while in this set is computed twice at once.
	var mu sync.Mutex
	inFlight := map[CustomerKey]string{}
	computed := map[CustomerKey]int{}
	newPool := func(name string) *Pool {
		cfg := testConfig(july15(t))
		cfg.Workers, cfg.BatchSize, cfg.WorkerID = 3, 25, name
		p := NewPool(db, cfg)
		p.hooks.claimed = func(keys []CustomerKey) {
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				if other, ok := inFlight[k]; ok {
					t.Errorf("%s claimed %s while %s computes it", name, k.CustomerID, other)
				}
				inFlight[k] = name
				computed[k]++
			}
		}
		p.hooks.beforeWrite = func(_ context.Context, keys []CustomerKey) error {
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				delete(inFlight, k)
			}
			return nil
		}
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, name := range []string{"pool-a", "pool-b"} {
		p := newPool(name)
		wg.Go(func() { assert.NoError(t, p.Run(ctx)) })
	}
	// Meanwhile writes keep bumping customers, some of them while they are being computed.
	for i := range 300 {
		enqueue(t, db, keys[(i*7)%customers], keys[(i*13)%customers])
	}
	// Customers go back on the queue while others drain it: a state to poll for, not an event.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, count(c, db, `SELECT count(*) FROM recalc_queue`))
	}, signalTimeout(), 10*time.Millisecond)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, computed, customers, "every customer computed")
	assert.Equal(t, customers, count(t, db, `SELECT count(*) FROM customer_metrics`))
	assert.Equal(t, 0, count(t, db, `SELECT count(*) FROM customer_metrics WHERE mrr_cents < 100`))
}
