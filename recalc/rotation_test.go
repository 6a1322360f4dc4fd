package recalc

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A large account cannot starve a small one: accounts with due work are served in turn, one batch
// each, whatever the age of their queue rows. Here the large account has 100 times the work, all
// of it queued before the small account's, which the oldest-first claim of one queue would serve
// only after every batch of the large one.
func TestAccountsAreServedInTurn(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	large, small := newFixture(t, db), newFixture(t, db)
	const batch = 2
	var largeKeys []CustomerKey
	for i := range 100 * batch {
		largeKeys = append(largeKeys, large.key(fmt.Sprintf("cus_%03d", i)))
		large.addInvoices(t, largeKeys[i].CustomerID, julySubscription)
	}
	enqueue(t, db, largeKeys...)
	smallKeys := []CustomerKey{small.key("cus_a"), small.key("cus_b")}
	for _, k := range smallKeys {
		small.addInvoices(t, k.CustomerID, julySubscription)
	}
	enqueue(t, db, smallKeys...)

	cfg := testConfig(july15(t))
	cfg.BatchSize = batch
	p := NewPool(db, cfg)
	var served []string // the account of each batch written, in order
	p.hooks.written = func(keys []CustomerKey) {
		served = append(served, keys[0].AccountID.String())
	}
	for range 2 {
		_, claimed, err := p.runOnce(context.Background())
		require.NoError(t, err)
		require.Equal(t, batch, claimed)
	}
	assert.ElementsMatch(t, []string{large.account.String(), small.account.String()}, served,
		"the first two batches serve each account once")
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, small.account.String()),
		"the small account is done")
	assert.Equal(t, 99*batch, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, large.account.String()),
		"the large account progressed by one batch")
	for _, k := range smallKeys {
		ms, stale, err := CustomerMetrics(context.Background(), db, k)
		require.NoError(t, err)
		assert.False(t, stale)
		require.Len(t, ms, 1)
		assert.EqualValues(t, 9900, ms[0].MRRCents)
	}

	// The rest drains: only the large account is left, batch after batch.
	assert.Equal(t, 99*batch, drain(t, p))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
}

// Every statement of a batch names its account: a batch never holds two accounts' customers.
func TestClaimsHoldOneAccount(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	a, b := newFixture(t, db), newFixture(t, db)
	keys := []CustomerKey{a.key("cus_1"), a.key("cus_2"), b.key("cus_1"), b.key("cus_2")}
	for _, k := range keys[:2] {
		a.addInvoices(t, k.CustomerID, julySubscription)
	}
	for _, k := range keys[2:] {
		b.addInvoices(t, k.CustomerID, julySubscription)
	}
	enqueue(t, db, keys...)
	p := NewPool(db, testConfig(july15(t)))
	var batches [][]CustomerKey
	p.hooks.claimed = func(ks []CustomerKey) { batches = append(batches, ks) }
	assert.Equal(t, 4, drain(t, p))
	require.Len(t, batches, 2, "one batch per account, though one batch could hold all four")
	for _, ks := range batches {
		for _, k := range ks {
			assert.Equal(t, ks[0].AccountID, k.AccountID)
		}
	}
}

// The turn passes to the account after the one served last, also across a new read of the
// accounts, so every account is visited once per round whatever the reads in between.
func TestRotationTakesTurns(t *testing.T) {
	t.Parallel()
	a, b, c, d := [16]byte{1}, [16]byte{2}, [16]byte{3}, [16]byte{4}
	var r rotation
	_, ok := r.take()
	assert.False(t, ok, "nothing read yet")
	r.set([][16]byte{a, b, c}, nil)
	for _, want := range [][16]byte{a, b} {
		got, ok := r.take()
		require.True(t, ok)
		assert.Equal(t, want, got)
	}
	r.set([][16]byte{a, b, c, d}, nil) // read again: the round goes on after b
	r.drop(c)                          // c had nothing due
	for _, want := range [][16]byte{d, a, b, d} {
		got, ok := r.take()
		require.True(t, ok)
		assert.Equal(t, want, got)
	}
	r.set(nil, nil)
	_, ok = r.take()
	assert.False(t, ok, "no account has work")
}

// A visit folds an account's outbox only when the last discovery found rows there or a
// notification named the account since (a fold is a statement, and most visits of a small
// account have nothing to fold); a pool without notifications folds on every visit.
func TestFoldOnlyWhenMarked(t *testing.T) {
	a, b := [16]byte{1}, [16]byte{2}
	var r rotation
	r.set([][16]byte{a, b}, map[[16]byte]bool{a: true})
	require.True(t, r.needsFold(a), "discovered with outbox rows")
	require.False(t, r.needsFold(a), "folded on the visit before")
	require.False(t, r.needsFold(b), "discovered for queue rows only")
	r.arrive(b) // a write committed: b's next visit folds, though it has a turn
	require.True(t, r.needsFold(b))
	r.markUnfolded(b) // a fold that failed
	require.True(t, r.needsFold(b))

	r.foldAlways = true
	require.True(t, r.needsFold(a))
	require.True(t, r.needsFold(a))
}
