package ingest

import (
	"context"
	"sync"

	"github.com/google/uuid"
)

// writers bounds how many write transactions of one account a Service runs at once.
//
// Concurrent writers of one account contend in PostgreSQL for the same rows and pages: every
// invoice's foreign-key check share-locks its customer and plan, so writers holding locks on the
// same customers turn them into multixacts, and they meet on the same index pages. Past a few
// writers that contention costs PostgreSQL more CPU per row than the writes themselves
// (docs/performance.md); a writer waiting here costs nothing, and its reads, parsing and
// comparing still run at once with the other batches'. Accounts do not share rows, so each has
// its own bound.
type writers struct {
	mu sync.Mutex
	by map[uuid.UUID]*writerSlots
}

// writerSlots are one account's slots, and how many batches hold or wait for one.
type writerSlots struct {
	sem   chan struct{}
	users int
}

// acquire waits for one of the n write slots of account, or for ctx to end (its error is
// returned). release gives the slot back; an account's slots are forgotten once no batch holds or
// waits for one.
func (w *writers) acquire(ctx context.Context, account uuid.UUID, n int) (release func(), err error) {
	w.mu.Lock()
	if w.by == nil {
		w.by = make(map[uuid.UUID]*writerSlots)
	}
	s := w.by[account]
	if s == nil {
		s = &writerSlots{sem: make(chan struct{}, max(n, 1))}
		w.by[account] = s
	}
	s.users++
	w.mu.Unlock()
	leave := func() {
		w.mu.Lock()
		if s.users--; s.users == 0 {
			delete(w.by, account)
		}
		w.mu.Unlock()
	}
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}
