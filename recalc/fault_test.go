package recalc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAbandonedClaimIsTakenOverAfterLease(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 3)
	ctx := context.Background()

	// Worker A claims and dies before computing anything (no process, no lease extension).
	cfgA := testConfig(july15(t))
	cfgA.WorkerID = "dead"
	a := NewPool(db, cfgA)
	abandoned, err := a.claim(ctx, keys[0].AccountID)
	require.NoError(t, err)
	require.Len(t, abandoned.items, 3)

	b := NewPool(db, testConfig(july15(t)))
	n, _, err := b.runOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a live claim is not taken")

	// Once the lease has run out (set to have, rather than waited for), B takes the customers over.
	_, err = db.SQL.Exec(`UPDATE recalc_queue SET locked_until = now() - interval '1 second' WHERE starts_with(locked_by, 'dead#')`)
	require.NoError(t, err)
	n, _, err = b.runOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, k := range keys {
		_, ok := queued(t, db, k)
		assert.False(t, ok)
	}

	// A comes back to life and finishes its stale claim, after a write queued one customer again:
	// it must neither overwrite metrics nor touch the queue row it no longer holds.
	_, err = db.SQL.Exec(`UPDATE customer_metrics SET mrr_cents = 1 WHERE customer_id = $1`, keys[0].CustomerID)
	require.NoError(t, err)
	enqueue(t, db, keys[0])
	n, err = a.process(ctx, abandoned)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing written by a lost claim")
	ms, stale, err := CustomerMetrics(ctx, db, keys[0])
	require.NoError(t, err)
	assert.True(t, stale)
	assert.EqualValues(t, 1, ms[0].MRRCents, "metrics untouched")
	row, ok := queued(t, db, keys[0])
	require.True(t, ok)
	assert.False(t, row.locked)
	assert.Zero(t, row.attempts)
}

func TestLeaseIsExtendedWhileComputing(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 1)
	ctx := context.Background()

	// The default lease; the heartbeat is shortened, so that the lease is extended at once.
	slow := NewPool(db, leased(testConfig(july15(t))))
	slow.heartbeat = time.Millisecond
	firstLeaseEnd, extended := newSignal[time.Time](), newSignal[int64]()
	slow.hooks.claimed = func([]CustomerKey) {
		var end time.Time
		assert.NoError(t, db.SQL.QueryRow(`SELECT locked_until FROM recalc_queue`).Scan(&end))
		firstLeaseEnd.send(end)
	}
	slow.hooks.extended = extended.send
	release := make(chan struct{})
	slow.hooks.beforeWrite = func(context.Context, []CustomerKey) error { <-release; return nil }
	done := make(chan error, 1)
	go func() { _, _, err := slow.runOnce(ctx); done <- err }()

	// The claim is extended past the end of its first lease, and so still held after it.
	end := waitFor(t, firstLeaseEnd)
	require.EqualValues(t, 1, waitFor(t, extended), "the heartbeat extends the claimed row")
	var held bool
	require.NoError(t, db.SQL.QueryRow(`SELECT count(*) = 1 FROM recalc_queue
		WHERE locked_until > $1 AND starts_with(locked_by, $2)`, end, slow.prefix).Scan(&held))
	assert.True(t, held, "the lease ends later than the first one did")
	other := NewPool(db, testConfig(july15(t)))
	n, _, err := other.runOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "an extended claim is not taken over")

	close(release)
	require.NoError(t, waitFor(t, done))
	_, ok := queued(t, db, keys[0])
	assert.False(t, ok)
}

func TestFailingCustomerIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		compute func(CustomerKey) error // called for the bad customer only
		wantErr string
	}{
		{"error", func(CustomerKey) error { return errors.New("boom: bad data") }, "boom: bad data"},
		{"panic", func(CustomerKey) error { panic("index out of range") }, "panic computing metrics: index out of range"},
		{"long error is truncated", func(CustomerKey) error { return errors.New(strings.Repeat("é", 2000)) }, strings.Repeat("é", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, keys := seedCustomers(t, 5)
			bad := keys[2]
			cfg := testConfig(july15(t))
			cfg.MaxBackoff = 1500 * time.Millisecond
			p := NewPool(db, cfg)
			p.hooks.compute = func(k CustomerKey) error {
				if k == bad {
					return tt.compute(k)
				}
				return nil
			}
			n, _, err := p.runOnce(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 4, n, "the others are computed")
			assert.Equal(t, 4, count(t, db, `SELECT count(*) FROM customer_metrics`))

			row, ok := queued(t, db, bad)
			require.True(t, ok, "a failed customer is never dropped")
			assert.Equal(t, 1, row.attempts)
			assert.Equal(t, tt.wantErr, row.lastError)
			assert.False(t, row.locked)
			assert.Empty(t, row.lockedBy)
			// First retry after 0.9 to 1 s, measured from when the failure was recorded.
			assert.GreaterOrEqual(t, row.backoff, 900*time.Millisecond, "first retry after ~1s")
			assert.LessOrEqual(t, row.backoff, time.Second, "first retry after ~1s")
			_, stale, err := CustomerMetrics(context.Background(), db, bad)
			require.NoError(t, err)
			assert.True(t, stale)
			st, err := Status(context.Background(), db, 10)
			require.NoError(t, err)
			assert.EqualValues(t, 1, st.Queued, "an operator sees the failure")
			require.Len(t, st.Failing, 1)
			assert.Equal(t, bad.CustomerID, st.Failing[0].CustomerID)
			assert.Equal(t, 1, st.Failing[0].Attempts)
			assert.Equal(t, tt.wantErr, st.Failing[0].LastError)

			// Not due yet (its retry moved an hour on, out of reach of a slow machine): nothing to do.
			// Made due, it fails again and waits longer, up to MaxBackoff.
			_, err = db.SQL.Exec(`UPDATE recalc_queue SET run_at = run_at + interval '1 hour'`)
			require.NoError(t, err)
			n, _, err = p.runOnce(context.Background())
			require.NoError(t, err)
			assert.Zero(t, n)
			_, err = db.SQL.Exec(`UPDATE recalc_queue SET run_at = now()`)
			require.NoError(t, err)
			_, _, err = p.runOnce(context.Background())
			require.NoError(t, err)
			row, _ = queued(t, db, bad)
			assert.Equal(t, 2, row.attempts)
			assert.Greater(t, row.backoff, time.Second, "backoff doubled")
			assert.LessOrEqual(t, row.backoff, 1500*time.Millisecond, "capped at MaxBackoff")

			// Fixed, it is computed and leaves the queue.
			p.hooks.compute = nil
			_, err = db.SQL.Exec(`UPDATE recalc_queue SET run_at = now()`)
			require.NoError(t, err)
			assert.Equal(t, 1, drain(t, p))
			assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
		})
	}
}

func TestBatchFailureIsIsolatedToTheBadCustomer(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 37)
	bad := keys[21]
	p := NewPool(db, testConfig(july15(t)))
	// Any write-back that includes the bad customer fails, as a statement error would.
	attempts := 0
	p.hooks.beforeWrite = func(_ context.Context, ks []CustomerKey) error {
		attempts++
		if slices.Contains(ks, bad) {
			return errors.New("constraint violated")
		}
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 36, n)
	assert.LessOrEqual(t, attempts, 2*6+1, "bisection, not one attempt per customer")
	assert.Equal(t, 36, count(t, db, `SELECT count(*) FROM customer_metrics`))
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM recalc_queue`))
	row, ok := queued(t, db, bad)
	require.True(t, ok)
	assert.Equal(t, 1, row.attempts)
	assert.Equal(t, "constraint violated", row.lastError)
	assert.False(t, row.locked)
}
