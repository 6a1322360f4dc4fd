package recalc

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
)

// awaitLockWait returns once some session of db's database waits for a row lock: the sign that a
// statement started by the test is blocked behind the transaction under test.
func awaitLockWait(t *testing.T, db *models.DB) {
	t.Helper()
	for {
		var waiting bool
		require.NoError(t, db.SQL.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting))
		if waiting {
			return
		}
	}
}

func TestSmallClaimHoldsNoLease(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 3)
	p := NewPool(db, testConfig(july15(t)))
	other := NewPool(db, testConfig(july15(t)))
	var seen queueRow
	var otherClaimed int
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		seen, _ = queued(t, db, keys[0])
		_, claimed, err := other.runOnce(context.Background())
		otherClaimed = claimed
		return err
	}
	n, claimed, err := p.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 3, claimed)
	assert.False(t, seen.locked, "computed under row locks: no lease written")
	assert.Empty(t, seen.lockedBy)
	assert.Zero(t, otherClaimed, "another pool skips the rows the small claim locks")
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`), "every customer finished")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM customer_metrics`))
}

func TestLargeAccountIsLeased(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 3)
	cfg := testConfig(july15(t))
	cfg.SmallClaim = 2 // 3 customers due: more than a small claim takes
	p := NewPool(db, cfg)
	var seen queueRow
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		seen, _ = queued(t, db, keys[0])
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.True(t, seen.locked, "claimed with a lease")
	assert.NotEmpty(t, seen.lockedBy)
}

// A write committed while a small claim computes its customer: folding it waits for the small
// claim to commit, then queues the customer again, which runs once more with the write.
func TestSmallClaimWriteDuringComputationRunsAgain(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueue(t, db, key)

	p := NewPool(db, testConfig(july15(t)))
	second := testInvoice{id: "i2", typ: "subscription", date: "2024-07-01", start: "2024-07-01", end: "2024-08-01",
		amount: 100, currency: "USD"}
	folded := make(chan struct{})
	injected := false
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		if !injected {
			injected = true
			f.addInvoices(t, key.CustomerID, second)
			go func() {
				defer close(folded)
				enqueue(t, db, key) // blocks on the small claim's row lock until it commits
			}()
			awaitLockWait(t, db)
		}
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	<-folded

	row, ok := queued(t, db, key)
	require.True(t, ok, "queued again by the write that landed meanwhile")
	assert.False(t, row.locked)
	assert.Equal(t, 1, drain(t, p))
	ms, stale, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 10000, ms[0].MRRCents, "the second run reflects the write")
}

// A small claim whose transaction fails (an error, or a panic) is retried the leased way, which
// isolates the customer that breaks it (down to single customers) and computes the others.
func TestSmallClaimFailureIsRetriedLeased(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fail    func() error
		wantErr string
	}{
		{"error", func() error { return errors.New("boom: breaks the write-back") }, "boom: breaks the write-back"},
		{"panic", func() error { panic("boom: breaks the write-back") }, "panic: boom: breaks the write-back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, keys := seedCustomers(t, 5)
			bad := keys[2]
			p := NewPool(db, testConfig(july15(t)))
			small := 0
			p.hooks.beforeWrite = func(_ context.Context, batch []CustomerKey) error {
				if row, _ := queued(t, db, batch[0]); !row.locked {
					small++
				}
				for _, k := range batch {
					if k == bad {
						return tt.fail()
					}
				}
				return nil
			}
			n, _, err := p.runOnce(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 1, small, "tried once as a small claim")
			assert.Equal(t, 4, n, "the others are computed")
			row, ok := queued(t, db, bad)
			require.True(t, ok)
			assert.Equal(t, 1, row.attempts)
			assert.Equal(t, tt.wantErr, row.lastError)
			assert.Empty(t, row.lockedBy)
		})
	}
}

// A small claim whose connection dies (its process killed) leaves its customers free at once:
// nothing waits for a lease to run out.
func TestSmallClaimOfDeadProcessIsFreeAtOnce(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 2)
	p := NewPool(db, testConfig(july15(t)))
	p.hooks.beforeWrite = func(ctx context.Context, _ []CustomerKey) error {
		_, err := db.SQL.ExecContext(ctx, `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
			JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'recalc_queue' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()`)
		return err
	}
	_, _, err := p.runOnce(context.Background())
	require.Error(t, err, "the small claim's connection was killed")

	row, ok := queued(t, db, keys[0])
	require.True(t, ok)
	assert.False(t, row.locked)
	assert.Zero(t, row.attempts)
	survivor := NewPool(db, testConfig(july15(t)))
	n, _, err := survivor.runOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "another process computes them at once")
}
