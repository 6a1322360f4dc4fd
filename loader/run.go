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

	onFull func(rows, uncounted int) // tests: see windows.onFull
}

// batch is a numbered run of rows until it is answered; then only its counts and its rows in
// error are kept, until it is counted in input order.
type batch struct {
	n       int
	rows    []Row
	skipped bool // acknowledged by an earlier run: counted from the state file
	sent    bool // answered (or counted from the state file); false: cancelled before sending
	counts  client.Counts
	errs    []rowError // the rows in error, for the errors file
	held    bool       // holds a place in the rows window (until answered, or counted with errs)
	err     error
}

// rowError is one row in error and the answer that refused it.
type rowError struct {
	row Row
	res client.RowResult
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
	skip := make(map[int]client.Counts, len(o.State.Done)) // the reader's copy: the collector adds to Done
	for n, c := range o.State.Done {
		skip[n] = c
	}
	w := newWindows(o.Concurrency)
	w.onFull = o.onFull
	go func() { readErr = o.cut(ctx, src, todo, skip, w); close(todo) }()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				o.send(ctx, b)
				w.answered(b)
				done <- b
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	total, err := o.collect(done, cancel, w)
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
func (o *Options) cut(ctx context.Context, src Source, todo chan<- *batch, skip map[int]client.Counts, w *windows) error {
	b, size := &batch{n: 1}, 0
	emit := func() bool {
		if c, ok := skip[b.n]; ok { // counted from the state file, not sent again
			b.skipped, b.sent, b.counts, b.rows = true, true, c, nil
		}
		if !w.enter(ctx, b) {
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

// send posts the batch's rows (those that were not refused while reading), then reduces the
// batch to its counts and its rows in error.
func (o *Options) send(ctx context.Context, b *batch) {
	if b.skipped {
		return
	}
	if ctx.Err() != nil {
		b.rows = nil
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
	next := 0
	for _, r := range b.rows {
		var rr client.RowResult
		if r.Local != nil {
			rr = *r.Local
		} else {
			rr = res.Results[next]
			next++
		}
		b.counts.Add(rr.ImportStatus)
		if rr.ImportStatus == client.StatusError && o.Errors != nil {
			b.errs = append(b.errs, rowError{row: r, res: rr})
		}
	}
	b.rows, b.sent = nil, true
}

// collect counts the answers in input order (batches answered early wait for those before
// them; the window bounds how many), writes rows in error and acknowledges batches.
func (o *Options) collect(done <-chan *batch, cancel context.CancelCauseFunc, w *windows) (client.Counts, error) {
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
			w.counted(waiting[next])
			delete(waiting, next)
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
	if !b.sent { // cancelled before it was sent
		return client.Counts{}, nil
	}
	c := b.counts
	if b.skipped {
		o.progress(c)
		return c, nil
	}
	for _, e := range b.errs {
		if err := o.Errors.Write(e.row, e.res); err != nil {
			return client.Counts{}, fmt.Errorf("the errors file: %w", err)
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
