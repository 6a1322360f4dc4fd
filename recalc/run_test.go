package recalc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runPool starts p.Run and returns a stop that cancels it and waits for it to return.
func runPool(t *testing.T, p *Pool) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait := startPool(t, p, ctx)
	return func() error {
		cancel()
		return wait()
	}
}

// startPool starts p.Run(ctx) and returns a wait for it to return.
func startPool(t *testing.T, p *Pool, ctx context.Context) (wait func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		t.Helper()
		return waitFor(t, done)
	}
}

// finishedSignal signals the customers each write-back of p takes off the queue.
func finishedSignal(p *Pool) signal[[]CustomerKey] {
	finished := newSignal[[]CustomerKey]()
	p.hooks.written = finished.send
	return finished
}

// waitFinished waits until a write-back has taken every key off the queue.
func waitFinished(t *testing.T, finished signal[[]CustomerKey], keys []CustomerKey) {
	t.Helper()
	left := make(map[CustomerKey]bool, len(keys))
	for _, k := range keys {
		left[k] = true
	}
	for len(left) > 0 {
		for _, k := range waitFor(t, finished) {
			delete(left, k)
		}
	}
}

func lockedRows(t *testing.T, p *Pool) int {
	return count(t, p.db, `SELECT count(*) FROM recalc_queue WHERE locked_until IS NOT NULL OR locked_by IS NOT NULL`)
}

func TestRunDrainsQueueAndStops(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 300)
	cfg := testConfig(july15(t))
	cfg.BatchSize = 40
	p := NewPool(db, cfg)
	finished := finishedSignal(p)
	stop := runPool(t, p)
	waitFinished(t, finished, keys)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
	// A write while running is picked up by the polling workers.
	enqueue(t, db, keys[0])
	waitFinished(t, finished, keys[:1])
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
	require.NoError(t, stop())
	assert.Equal(t, 300, count(t, db, `SELECT count(*) FROM customer_metrics`))
}

func TestRunStopFinishesBatchInFlight(t *testing.T) {
	t.Parallel()
	db, _ := seedCustomers(t, 10)
	p := NewPool(db, leased(testConfig(july15(t))))
	inWrite, stopped := make(chan struct{}), make(chan struct{})
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		close(inWrite)
		<-stopped // the stop signal arrives while this batch is computed
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := startPool(t, p, ctx)
	waitFor(t, inWrite)
	cancel()
	close(stopped)
	require.NoError(t, wait())
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`), "the claimed batch was finished")
	assert.Equal(t, 10, count(t, db, `SELECT count(*) FROM customer_metrics`))
}

func TestRunStopReleasesUnfinishedClaims(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 10)
	cfg := leased(testConfig(july15(t)))
	cfg.Workers = 3
	cfg.BatchSize = 4
	p := NewPool(db, cfg)
	p.stopGrace = 50 * time.Millisecond
	claimed := make(chan struct{}, 3)
	p.hooks.beforeWrite = func(ctx context.Context, _ []CustomerKey) error {
		claimed <- struct{}{}
		<-ctx.Done() // a batch that cannot finish within the grace period
		return ctx.Err()
	}
	stop := runPool(t, p)
	for range 3 {
		waitFor(t, claimed)
	}
	require.Equal(t, 10, lockedRows(t, p), "all claimed")
	require.NoError(t, stop())
	assert.Zero(t, lockedRows(t, p), "no claim left behind")
	for _, k := range keys {
		row, ok := queued(t, db, k)
		require.True(t, ok, "unfinished customers stay queued")
		assert.Zero(t, row.attempts, "a stop is not a failure")
		assert.LessOrEqual(t, row.runAtIn, time.Duration(0), "due at once for the next process")
	}
}

func TestRunKeepsWorkingAfterFailures(t *testing.T) {
	t.Parallel()
	db, keys := seedCustomers(t, 20)
	cfg := testConfig(july15(t))
	cfg.MaxBackoff = time.Millisecond // the test is about recovering, not about waiting
	p := NewPool(db, cfg)
	finished := finishedSignal(p)
	var mu sync.Mutex
	fails := map[string]bool{}
	p.hooks.beforeWrite = func(_ context.Context, ks []CustomerKey) error {
		mu.Lock()
		defer mu.Unlock()
		if len(ks) == 1 && !fails[ks[0].CustomerID] {
			fails[ks[0].CustomerID] = true
			return errors.New("transient")
		}
		if len(ks) > 1 {
			return fmt.Errorf("batch of %d fails", len(ks))
		}
		return nil
	}
	stop := runPool(t, p)
	// Every customer fails once on its own, waits out its backoff, then succeeds.
	waitFinished(t, finished, keys)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`))
	require.NoError(t, stop())
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, fails, len(keys))
	assert.Equal(t, 20, count(t, db, `SELECT count(*) FROM customer_metrics`))
}
