package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/config"
)

// A bucket of 50/s holds 100 requests; the 101st at the same instant is refused until a token has
// come back (20 ms), and Retry-After rounds that up to 1 s.
func TestBucketSetBurstAndRetry(t *testing.T) {
	t.Parallel()
	b := newBucketSet[string](50)
	require.Equal(t, 100, b.burst)
	now := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		v := b.take("a", now)
		require.True(t, v.ok, "request %d", i+1)
		require.Equal(t, 100-i-1, v.remaining)
	}
	v := b.take("a", now)
	require.False(t, v.ok)
	require.Equal(t, 20*time.Millisecond, v.retryAfter)
	require.Equal(t, "1", seconds(v.retryAfter, 1))
	require.Equal(t, 2*time.Second, v.reset, "an empty bucket of 100 at 50/s is full in 2 s")
	require.False(t, b.take("a", now).ok, "a refusal costs no token, and earns none")
	require.True(t, b.take("b", now).ok, "another key has its own bucket")
	require.True(t, b.take("a", now.Add(20*time.Millisecond)).ok)

	require.Nil(t, newBucketSet[string](0), "0 = no limit")
	require.Equal(t, 1, newBucketSet[string](0.01).burst, "at least 1")
}

func TestBucketSetPeekSpendsNothing(t *testing.T) {
	t.Parallel()
	b := newBucketSet[string](0.5) // a burst of 1
	now := time.Unix(1_700_000_000, 0)
	require.True(t, b.peek("a", now).ok)
	require.True(t, b.take("a", now).ok)
	v := b.peek("a", now)
	require.False(t, v.ok)
	require.Equal(t, 2*time.Second, v.retryAfter)
	require.True(t, b.peek("a", now.Add(2*time.Second)).ok)
}

// The map of buckets stays bounded: full (idle) buckets go first, then the least recently used.
func TestLRUBounded(t *testing.T) {
	t.Parallel()
	m := newLRU[int, int](3)
	idle := func(v int) bool { return v < 0 }
	for i := range 3 {
		m.getOrAdd(i, func() int { return i }, idle)
	}
	m.get(0) // 1 is now the least recently used
	m.getOrAdd(3, func() int { return 3 }, idle)
	require.Equal(t, 3, m.len())
	_, ok := m.get(1)
	require.False(t, ok, "least recently used dropped")

	m = newLRU[int, int](3)
	m.put(0, -1)
	m.put(1, -1)
	m.put(2, 2) // in use: kept
	m.getOrAdd(3, func() int { return 3 }, idle)
	require.Equal(t, 2, m.len(), "the idle entries at the end went, though there was room")
	for _, k := range []int{2, 3} {
		_, ok := m.get(k)
		require.True(t, ok, k)
	}
	m.put(4, 4)
	m.remove(4)
	require.Equal(t, 2, m.len())

	b := newBucketSet[int](1000)
	now := time.Now()
	for i := range 3 * maxBuckets {
		b.take(i, now)
	}
	require.Equal(t, maxBuckets, b.buckets.len())
}

func TestUnknownKeyCacheExpires(t *testing.T) {
	t.Parallel()
	a := newAdmission(config.Limits{})
	now := time.Unix(1_700_000_000, 0)
	a.now = func() time.Time { return now }
	hash := [32]byte{1}
	require.False(t, a.knownUnknown(hash))
	a.unknownKeys.put(hash, now.Add(unknownKeyTTL))
	require.True(t, a.knownUnknown(hash))
	now = now.Add(unknownKeyTTL + time.Second)
	require.False(t, a.knownUnknown(hash))
	require.Zero(t, a.unknownKeys.len())
}
