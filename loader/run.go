package loader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"invoice-ingest/client"
)

// Options say how Run sends rows.
type Options struct {
	Client        *client.Client
	Entity        client.Entity
	Batch         int // rows per batch (1000)
	MaxBatchBytes int // a batch is cut earlier once its rows hold this many bytes (8 MiB)
	Concurrency   int // batches in flight (4)
	DryRun        bool
	State         *State    // acknowledged batches (a file for --resume, or NewRunState)
	Errors        ErrorSink // rows in error; nil: not kept
	Progress      Progress  // nil: none
}

// batch is a numbered run of rows, and, once answered, their results.
type batch struct {
	n       int
	rows    []Row
	skipped bool // acknowledged by an earlier run: counted from the state file
	results []client.RowResult
	err     error
}

// Run sends every row of src and returns the counts of the run (batches an earlier run
// acknowledged included). It stops at the first batch the client gave up on, or when ctx ends,
// returning what was counted so far with the error; batches answered before are in the state.
func Run(ctx context.Context, src Source, o Options) (client.Counts, error) {
	o.defaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan *batch, o.Concurrency)
	done := make(chan *batch, o.Concurrency)
	var readErr error
	skip := make(map[int]bool, len(o.State.Done)) // the reader's copy: the collector adds to Done
	for n := range o.State.Done {
		skip[n] = true
	}
	// window bounds the batches held in memory, read but not yet counted: without it, while one
	// slow batch (retrying, say) holds up the counting in input order, the other workers would go
	// on reading and sending, and the answered batches waiting behind it would pile up.
	window := make(chan struct{}, 2*o.Concurrency)
	go func() { readErr = o.cut(ctx, src, todo, skip, window); close(todo) }()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				o.send(ctx, b)
				done <- b
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	total, err := o.collect(done, cancel, window)
	if o.Progress != nil {
		o.Progress.Finish()
	}
	if err != nil {
		// The workers end once the reader sees the cancellation; a reader blocked on standard
		// input may not, so nobody waits for them here.
		go func() {
			for range done {
			}
		}()
		if cause := context.Cause(ctx); errors.Is(err, context.Canceled) && cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause // a batch cancelled because another failed: report that failure
		}
		return total, err
	}
	// done is closed: the reader, then the workers, ended, so readErr is set.
	if ctx.Err() != nil {
		return total, context.Cause(ctx)
	}
	return total, readErr
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 8 << 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.State == nil {
		o.State = NewRunState(StateHeader{})
	}
}

// cut reads src into batches; the batch numbers depend only on the input and Batch (and the
// byte cap), so a resumed run numbers them as the first run did.
func (o *Options) cut(ctx context.Context, src Source, todo chan<- *batch, skip map[int]bool, window chan<- struct{}) error {
	b, size := &batch{n: 1}, 0
	emit := func() bool {
		b.skipped = skip[b.n]
		select { // a place in the window, given back when the batch is counted
		case window <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		select {
		case todo <- b:
		case <-ctx.Done():
			return false
		}
		b, size = &batch{n: b.n + 1}, 0
		return true
	}
	for {
		row, err := src.Next()
		if errors.Is(err, io.EOF) {
			if len(b.rows) > 0 {
				emit()
			}
			return nil
		}
		if err != nil {
			return err
		}
		b.rows = append(b.rows, row)
		size += len(row.JSON)
		if (len(b.rows) >= o.Batch || size >= o.MaxBatchBytes) && !emit() {
			return nil
		}
	}
}

// send posts the batch's rows (those that were not refused while reading).
func (o *Options) send(ctx context.Context, b *batch) {
	if b.skipped || ctx.Err() != nil {
		return
	}
	var rows []json.RawMessage
	h := sha256.New()
	for _, r := range b.rows {
		if r.Local == nil {
			rows = append(rows, r.JSON)
			h.Write(r.JSON)
			h.Write([]byte{0})
		}
	}
	var res *client.BatchResult
	if len(rows) > 0 {
		key := "push-" + o.State.Header.RunID + "-" + strconv.Itoa(b.n) + "-" + hex.EncodeToString(h.Sum(nil)[:8])
		res, b.err = o.Client.Upsert(ctx, o.Entity, rows, client.BatchOptions{IdempotencyKey: key, DryRun: o.DryRun})
		if b.err != nil {
			b.err = fmt.Errorf("batch %d: %w", b.n, b.err)
			return
		}
	}
	b.results = make([]client.RowResult, len(b.rows))
	next := 0
	for i, r := range b.rows {
		if r.Local != nil {
			b.results[i] = *r.Local
			continue
		}
		b.results[i] = res.Results[next]
		next++
	}
}

// collect counts the answers in input order (batches answered early wait for those before
// them; the window bounds how many), writes rows in error and acknowledges batches.
func (o *Options) collect(done <-chan *batch, cancel context.CancelCauseFunc, window <-chan struct{}) (client.Counts, error) {
	var total client.Counts
	waiting := map[int]*batch{}
	next := 1
	for b := range done {
		if b.err != nil {
			cancel(b.err)
			return total, b.err
		}
		waiting[b.n] = b
		for ; waiting[next] != nil; next++ {
			c, err := o.take(waiting[next])
			delete(waiting, next)
			<-window
			total = total.Plus(c)
			if err != nil {
				cancel(err)
				return total, err
			}
		}
	}
	return total, nil
}

// take counts one answered batch, writes its rows in error and acknowledges it.
func (o *Options) take(b *batch) (client.Counts, error) {
	if b.skipped {
		o.progress(o.State.Done[b.n])
		return o.State.Done[b.n], nil
	}
	if b.results == nil { // cancelled before it was sent
		return client.Counts{}, nil
	}
	var c client.Counts
	for i, res := range b.results {
		c.Add(res.ImportStatus)
		if res.ImportStatus == client.StatusError && o.Errors != nil {
			if err := o.Errors.Write(b.rows[i], res); err != nil {
				return client.Counts{}, fmt.Errorf("the errors file: %w", err)
			}
		}
	}
	o.progress(c)
	if err := o.State.Ack(b.n, c); err != nil {
		return c, fmt.Errorf("the state file: %w", err)
	}
	return c, nil
}

func (o *Options) progress(c client.Counts) {
	if o.Progress != nil {
		o.Progress.Add(c)
	}
}
