package api

import "sync"

// maxPooledBytes is the largest buffer kept for reuse: rarer huge requests allocate their own,
// so that a pool does not pin tens of MiB after a burst of them.
const maxPooledBytes = 4 << 20

// bufferPool reuses byte buffers between requests. A 1000-row request reads a body of ~400 KB
// and answers ~100 KB; allocating those afresh each time (zeroed, then collected) showed in
// profiles as memclr, GC and madvise. Bodies and answers have pools of their own, so that each
// pool holds buffers of about the size it hands out.
type bufferPool struct{ pool sync.Pool }

var bodyBuffers, answerBuffers bufferPool

// get returns an empty buffer; its capacity is whatever an earlier request left.
func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// put gives b back; nothing may use *b afterwards.
func (p *bufferPool) put(b *[]byte) {
	if cap(*b) > maxPooledBytes {
		return
	}
	*b = (*b)[:0]
	p.pool.Put(b)
}
