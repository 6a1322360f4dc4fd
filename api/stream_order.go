package api

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"

	"invoice-ingest/ingest"
)

// streamWriters is how many chunks of one stream may have their write transactions open at
// once. One stream then uses as many PostgreSQL backends as that many clients would; its chunks
// still commit in input order. Each transaction also takes one of the account's writer slots
// (ingest.Service.Writers), so a stream leaves the account's other slots to its other clients.
const streamWriters = 2

// chunkLocks numbers the chunks of every stream of this process for their advisory locks (see
// chunkOrder.Locked), from a random start so that two processes on one database do not meet.
var chunkLocks = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(rand.Int64())
	return &n
}()

// ticket is how one chunk is going: later chunks wait on it. The fields after err are guarded
// by the pipeline's sequencer.
type ticket struct {
	done chan struct{} // closed once err (and the flight's res) are set
	err  error

	lock      int64    // the chunk's advisory lock, held by its write transaction
	keys      []uint64 // the rows its write transaction locks (set by Turn, before any write)
	writing   bool     // a write transaction holds lock
	attempts  int      // write transactions ended
	committed bool
	finished  bool // the batch returned (err is set)
}

// settled says the chunk writes no more: it committed, or its batch returned.
func (t *ticket) settled() bool { return t.committed || t.finished }

// failed says the chunk's batch failed: the chunks after it write nothing.
func (t *ticket) failed() bool { return t.finished && t.err != nil }

// sequencer holds one stream's tickets' state; every change wakes every waiter (a stream has
// at most streamInFlight chunks, so waking all costs nothing worth a finer scheme).
type sequencer struct {
	mu      sync.Mutex
	wake    chan struct{}  // closed and replaced on every change
	commits int64          // write transactions committed: later reads may be stale
	blocked func(base int) // test hook (writeHooks.streamBlocked)
}

// update changes tickets' state with f and wakes the waiters.
func (s *sequencer) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	if s.wake != nil {
		close(s.wake)
	}
	s.wake = make(chan struct{})
}

// await waits until cond, called under the lock after every change, is true or fails.
func (s *sequencer) await(ctx context.Context, cond func() (bool, error)) error {
	for {
		s.mu.Lock()
		ok, err := cond()
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// chunkOrder is one chunk's ingest.Order: its write transaction may run while up to
// streamWriters-1 earlier chunks' still do, if it locks none of their rows, and commits after
// theirs.
type chunkOrder struct {
	seq     *sequencer
	t       *ticket
	base    int
	earlier []*ticket // the chunks before it still in flight, oldest first
	since   int64     // seq.commits before its reads began
}

// Turn publishes the chunk's keys. A chunk that writes nothing answers from its reads alone: it
// waits for every earlier chunk, and reads again if one committed since its reads began.
func (o *chunkOrder) Turn(ctx context.Context, keys []uint64) (bool, error) {
	o.seq.update(func() { o.t.keys = keys })
	if keys != nil {
		return false, nil
	}
	if err := o.Settle(ctx); err != nil {
		return false, err
	}
	o.seq.mu.Lock()
	defer o.seq.mu.Unlock()
	return o.seq.commits != o.since, ctx.Err()
}

// Settle waits until every earlier chunk committed or returned; errAbandoned if one failed.
func (o *chunkOrder) Settle(ctx context.Context) error {
	return o.seq.await(ctx, func() (bool, error) {
		for _, e := range o.earlier {
			if e.failed() {
				return false, errAbandoned
			}
			if !e.settled() {
				return false, nil
			}
		}
		return true, nil
	})
}

// Begin waits, holding nothing, until each earlier chunk not yet settled is in its write
// transaction (holds its lock, which Commit waits on) and locks none of this chunk's keys, and
// at most streamWriters chunks, this one included, would then write. A chunk that shares a key with an earlier
// one thus writes once that one committed, reading what it wrote.
func (o *chunkOrder) Begin(ctx context.Context) error {
	told := false
	err := o.seq.await(ctx, func() (bool, error) {
		active := 1
		for _, e := range o.earlier {
			switch {
			case e.failed():
				return false, errAbandoned
			case e.settled():
				continue
			case !e.writing:
				return false, nil
			case overlap(e.keys, o.t.keys):
				if !told && o.seq.blocked != nil {
					told = true
					o.seq.blocked(o.base)
				}
				return false, nil
			}
			active++
		}
		return active <= streamWriters, nil
	})
	if err != nil {
		return err
	}
	return ctx.Err()
}

// Locked takes the chunk's advisory lock, which later chunks wait on in PostgreSQL (Commit).
func (o *chunkOrder) Locked(ctx context.Context, tx *gorm.DB) error {
	hi, lo := lockKey(o.t.lock)
	if err := tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock($1, $2)`, hi, lo).Error; err != nil {
		return err
	}
	o.seq.update(func() { o.t.writing = true })
	return nil
}

// Commit waits for each earlier chunk not yet settled to commit. It holds row locks, so it waits
// in PostgreSQL, for the earlier chunk's advisory lock (a cycle through other clients' locks is
// then one PostgreSQL sees), and in Go only for a chunk whose transaction has ended, to learn how.
// An earlier chunk that is not in a write transaction, or whose transaction ended without a
// commit, will try again: this one rolls back (ingest.ErrWriteAgain) rather than wait holding
// locks, and begins again behind it.
func (o *chunkOrder) Commit(ctx context.Context, tx *gorm.DB) error {
	for _, e := range o.earlier {
		o.seq.mu.Lock()
		failed, settled, writing, attempt := e.failed(), e.settled(), e.writing, e.attempts
		o.seq.mu.Unlock()
		switch {
		case failed:
			return errAbandoned
		case settled:
			continue
		case !writing:
			return ingest.ErrWriteAgain
		}
		hi, lo := lockKey(e.lock)
		if err := tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock_shared($1, $2)`, hi, lo).Error; err != nil {
			return err
		}
		err := o.seq.await(ctx, func() (bool, error) {
			switch {
			case e.failed():
				return false, errAbandoned
			case e.settled():
				return true, nil
			case e.attempts > attempt:
				return false, ingest.ErrWriteAgain
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Ended records how a write transaction of the chunk ended.
func (o *chunkOrder) Ended(committed bool) {
	o.seq.update(func() {
		o.t.writing = false
		o.t.attempts++
		if committed {
			o.t.committed = true
			o.seq.commits++
		}
	})
}

// lockKey splits a chunk's lock number into the two-integer advisory key, a space apart from
// the single-bigint keys used elsewhere.
func lockKey(n int64) (int32, int32) { return int32(n >> 32), int32(n) }

// overlap reports whether two sorted key lists share a key.
func overlap(a, b []uint64) bool {
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] == b[0]:
			return true
		case a[0] < b[0]:
			a = a[1:]
		default:
			b = b[1:]
		}
	}
	return false
}
