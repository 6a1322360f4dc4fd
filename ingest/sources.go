package ingest

import (
	"sync"

	"github.com/google/uuid"
)

// maxCachedSources bounds the source cache; past it the cache starts over, which costs one query
// per batch until it is warm again.
const maxCachedSources = 10_000

// sourceCache remembers how a row's data_source reference (a name or a UUID) resolved, per
// account. A data source is never renamed or deleted (the API has no route for either), so a
// resolution stays true for good and every instance may cache it on its own; an unknown reference
// is not remembered, since the source may be created next. It spares every batch a query.
type sourceCache struct {
	mu sync.RWMutex
	m  map[sourceRef]uuid.UUID
}

type sourceRef struct {
	account uuid.UUID
	ref     string
}

func (c *sourceCache) get(account uuid.UUID, ref string) (uuid.UUID, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.m[sourceRef{account, ref}]
	return id, ok
}

func (c *sourceCache) put(account uuid.UUID, ref string, id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedSources {
		c.m = make(map[sourceRef]uuid.UUID)
	}
	c.m[sourceRef{account, ref}] = id
}

// shapeHints remembers, per account and data source, whether the last large batch was new or
// changed data (every sampled row differed) or a re-send. A re-send is likely followed by another
// (a sync job re-sending its pages), so the next batch of that source probes every row at once
// instead of sampling first, which would only cost a round trip. Like sourceCache it is bounded
// and starts over when full.
type shapeHints struct {
	mu        sync.Mutex
	resending map[sourceKey]bool
}

type sourceKey struct{ account, source uuid.UUID }

func (h *shapeHints) resend(account, source uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resending[sourceKey{account, source}]
}

func (h *shapeHints) set(account, source uuid.UUID, resending bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.resending == nil || len(h.resending) >= maxCachedSources {
		h.resending = make(map[sourceKey]bool)
	}
	h.resending[sourceKey{account, source}] = resending
}
