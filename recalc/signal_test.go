package recalc

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// signalTimeoutEnv overrides signalTimeout, as a Go duration ("30s"), for machines slow enough to
// need it.
const signalTimeoutEnv = "TEST_SIGNAL_TIMEOUT"

// signalTimeout bounds every wait of these tests, for an event or for a condition. A wait that is
// met returns at once, so the bound is generous: it only decides how long a broken test hangs
// before it fails. No assertion depends on it.
var signalTimeout = sync.OnceValue(func() time.Duration {
	s := os.Getenv(signalTimeoutEnv)
	if s == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		panic(fmt.Sprintf("%s=%q: want a positive Go duration such as 30s", signalTimeoutEnv, s))
	}
	return d
})

// signal is a test signal: a pool hook sends on it when something happened, and the test waits for
// that with waitFor instead of sleeping or polling. A send never blocks the pool; events beyond
// the buffer are dropped (a heartbeat beats for as long as a test keeps its batch in flight), so
// a test waits for an event, never for a count of them past the buffer.
type signal[T any] chan T

func newSignal[T any]() signal[T] { return make(signal[T], 1000) }

func (s signal[T]) send(v T) {
	select {
	case s <- v:
	default:
	}
}

// waitFor returns the next value from ch, failing the test if none comes within signalTimeout.
func waitFor[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(signalTimeout()):
		t.Fatalf("no signal within %v (%s)", signalTimeout(), signalTimeoutEnv)
		panic("unreachable")
	}
}
