package api

import (
	"container/list"
	"sync"
)

// lru is a map of at most max entries, safe for concurrent use: adding to a full one drops the
// least recently used entry. It is what keeps the per-account and per-address state of the limits
// and the negative key cache bounded whatever the number of accounts or addresses.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry[K, V], most recently used first
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: make(map[K]*list.Element)}
}

// get returns the value of key, marking it used.
func (m *lru[K, V]) get(key K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// getOrAdd returns the value of key, adding newVal() first when there is none. Before adding, it
// drops entries from the least recently used end as long as idle says so of them (entries whose
// dropping loses nothing), then the least recently used one if the map is still full.
func (m *lru[K, V]) getOrAdd(key K, newVal func() V, idle func(V) bool) V {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).val
	}
	for back := m.order.Back(); back != nil && idle != nil && idle(back.Value.(*lruEntry[K, V]).val); back = m.order.Back() {
		m.removeElement(back)
	}
	if len(m.items) >= m.max {
		m.removeElement(m.order.Back())
	}
	v := newVal()
	m.items[key] = m.order.PushFront(&lruEntry[K, V]{key: key, val: v})
	return v
}

// put sets the value of key, marking it used.
func (m *lru[K, V]) put(key K, val V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		el.Value.(*lruEntry[K, V]).val = val
		m.order.MoveToFront(el)
		return
	}
	if len(m.items) >= m.max {
		m.removeElement(m.order.Back())
	}
	m.items[key] = m.order.PushFront(&lruEntry[K, V]{key: key, val: val})
}

// remove drops key.
func (m *lru[K, V]) remove(key K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.removeElement(el)
	}
}

// len is the number of entries.
func (m *lru[K, V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

func (m *lru[K, V]) removeElement(el *list.Element) {
	m.order.Remove(el)
	delete(m.items, el.Value.(*lruEntry[K, V]).key)
}
