package ingest

import (
	"sync"

	"github.com/google/uuid"
)

// maxMemoEntries bounds each memo; past it the memo starts over, which costs one query or one
// round trip per batch until it is warm again.
const maxMemoEntries = 10_000

// memo is a small bounded map safe for concurrent use, for facts worth remembering between
// batches of one Service.
type memo[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *memo[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *memo[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxMemoEntries {
		c.m = make(map[K]V)
	}
	c.m[k] = v
}

// sourceRef is a row's data_source reference (a name or a UUID) in one account. Service.sources
// remembers what it resolved to: a data source is never renamed or deleted (the API has no route
// for either), so a resolution stays true for good and every instance may cache it on its own; an
// unknown reference is not remembered, since the source may be created next.
type sourceRef struct {
	account uuid.UUID
	ref     string
}

// sourceKey is one data source of one account. Service.resending remembers whether the last large
// batch of that source was a re-send rather than new or changed data (every sampled row differed).
// A re-send is likely followed by another (a sync job re-sending its pages), so the next batch of
// that source probes every row at once instead of sampling first, which would only cost a round
// trip.
type sourceKey struct{ account, source uuid.UUID }
