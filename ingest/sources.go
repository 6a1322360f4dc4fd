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
