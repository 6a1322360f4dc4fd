package ingest

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"

	"gorm.io/gorm"
)

// Order lets batches whose reads run at once (an NDJSON stream's chunks) write in an order the
// caller chooses, their write transactions overlapping when their rows do not. Its methods are
// called from the batch's goroutine, in this order: Turn once; then per write transaction Begin,
// Locked and Commit (in the transaction), Ended; Settle before a batch that wrote nothing records
// itself (Options.Record).
//
// A batch waits in Go only while it holds nothing (Turn, Begin, Settle) or for a batch whose
// transaction already ended (Commit, after its lock): a batch that holds row locks waits for an
// earlier one only in PostgreSQL (Locked, Commit), so any wait cycle through other clients' row
// locks is one PostgreSQL's deadlock detector sees and breaks.
type Order interface {
	// Turn is called after the reads have decided every status, before anything is written or
	// recorded. keys are what the batch's write transaction would lock (rowKeys), nil when it
	// writes nothing. stale says writers that come before this batch may have committed since
	// its reads began: a batch that writes nothing then reads again (one that writes re-checks
	// under lock anyway). An error ends the batch with nothing written.
	Turn(ctx context.Context, keys []uint64) (stale bool, err error)
	// Begin returns once a write transaction of the batch may begin; it is called before the
	// batch waits for a writer slot.
	Begin(ctx context.Context) error
	// Locked runs first in each write transaction, before any row is locked.
	Locked(ctx context.Context, tx *gorm.DB) error
	// Commit runs in the write transaction after its writes, before Options.Record and the
	// commit, and returns once every batch before it committed. ErrWriteAgain rolls the
	// transaction back and begins it again (Begin first); another error ends the batch.
	Commit(ctx context.Context, tx *gorm.DB) error
	// Ended is called once each write transaction ended, committed or not.
	Ended(committed bool)
	// Settle returns once every batch before this one committed or ended.
	Settle(ctx context.Context) error
}

// ErrWriteAgain is what Order.Commit returns when an earlier batch's transaction ended without a
// commit while this one waited: it will try again, and this one must not commit first nor wait
// for it holding locks. It does not count as an attempt (see inTx): every one follows an
// earlier batch's failed attempt, which are bounded.
var ErrWriteAgain = errors.New("ingest: an earlier batch did not commit; write again")

// keySeed seeds rowKeys: keys are compared within one process only.
var keySeed = maphash.MakeSeed()

// rowKeys returns, sorted, a hash of the (source, id) of every row the groups' write transaction
// writes or share-locks (lockUnchanged): a stream writes one entity, so these are all the rows
// of its table the transaction locks. Two batches whose keys are disjoint lock no row of that
// table in common; a hash collision only makes them write one after another.
func rowKeys[R any](groups []*sourceGroup[R]) []uint64 {
	var keys []uint64
	var h maphash.Hash
	h.SetSeed(keySeed)
	for _, g := range groups {
		for _, r := range g.rows {
			h.Reset()
			_, _ = h.Write(g.source[:])
			_, _ = h.WriteString(r.id)
			keys = append(keys, h.Sum64())
		}
	}
	slices.Sort(keys)
	return keys
}
