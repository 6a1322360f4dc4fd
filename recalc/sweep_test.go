package recalc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSweepQueuesDueCustomersOnly(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	now := day(t, "2024-08-01")
	tests := []struct {
		name       string
		nextChange time.Time
		queued     bool // already in the queue before the sweep
		wantQueued bool
		wantVer    int64
	}{
		{name: "passed", nextChange: now.Add(-time.Hour), wantQueued: true, wantVer: 1},
		{name: "exactly now", nextChange: now, wantQueued: true, wantVer: 1},
		{name: "future", nextChange: now.Add(time.Second), wantQueued: false},
		{name: "passed but already queued is left alone", nextChange: now.Add(-time.Hour), queued: true, wantQueued: true, wantVer: 1},
	}
	for _, tt := range tests {
		key := f.key(tt.name)
		_, err := db.SQL.Exec(`INSERT INTO customer_metric_schedule VALUES ($1, $2, $3, $4)`,
			key.AccountID.String(), key.SourceID.String(), key.CustomerID, tt.nextChange)
		require.NoError(t, err)
		if tt.queued {
			enqueue(t, db, key)
		}
	}
	p := NewPool(db, testConfig(func() time.Time { return now }))
	n, err := p.Sweep(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, ok := queued(t, db, f.key(tt.name))
			require.Equal(t, tt.wantQueued, ok)
			if ok {
				assert.Equal(t, tt.wantVer, row.version)
				assert.LessOrEqual(t, row.runAtIn, time.Duration(0), "due at once")
			}
		})
	}
	// Idempotent: a second sweep finds them queued.
	n, err = p.Sweep(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestSweepRecalculatesWhenAPeriodEnds(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueue(t, db, key)
	clk := newClock(day(t, "2024-07-15"))
	p := NewPool(db, testConfig(clk.now))
	ctx := context.Background()
	require.Equal(t, 1, drain(t, p))

	clk.set(day(t, "2024-07-31"))
	n, err := p.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing changes before the period ends")

	clk.set(day(t, "2024-08-02"))
	n, err = p.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, stale, err := CustomerMetrics(ctx, db, key)
	require.NoError(t, err)
	assert.True(t, stale)

	require.Equal(t, 1, drain(t, p))
	ms, stale, err := CustomerMetrics(ctx, db, key)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 0, ms[0].MRRCents)
	assert.Equal(t, StatusChurned, ms[0].Status)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_metric_schedule`), "nothing left to change with time")
}
