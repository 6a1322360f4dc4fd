package loader

import "context"

// windows bound what a run holds. rows bounds the batches that hold their rows (read, not yet
// answered; or answered with rows in error, until counted): memory. uncounted bounds all the
// batches read but not yet counted, most of them answered and reduced to their counts: how far
// sending may run ahead of a batch that is slow to answer (retrying, say), which the counting in
// input order waits for. With an uncounted window as small as the rows window, one slow answer
// stalled every worker: the batches behind it, answered, filled the window.
type windows struct {
	rows, uncounted chan struct{}
	// onFull, when set (tests), is called by the reader whenever a window is full before it
	// waits for a place: the number of batches holding rows and uncounted.
	onFull func(rows, uncounted int)
}

// uncountedPerWorker is the uncounted window's size per batch in flight; an answered batch waiting
// to be counted holds a few words unless it has rows in error.
const uncountedPerWorker = 32

func newWindows(concurrency int) *windows {
	return &windows{rows: make(chan struct{}, 2*concurrency), uncounted: make(chan struct{}, uncountedPerWorker*concurrency)}
}

// enter takes a place in the uncounted window, and one in the rows window unless the batch holds
// no rows (skipped); false when ctx ended first.
func (w *windows) enter(ctx context.Context, b *batch) bool {
	if w.onFull != nil && (len(w.uncounted) == cap(w.uncounted) || (!b.skipped && len(w.rows) == cap(w.rows))) {
		w.onFull(len(w.rows), len(w.uncounted))
	}
	select {
	case w.uncounted <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if b.skipped {
		return true
	}
	select {
	case w.rows <- struct{}{}:
		b.held = true
		return true
	case <-ctx.Done():
		<-w.uncounted
		return false
	}
}

// answered gives the rows place back once the batch holds no rows.
func (w *windows) answered(b *batch) {
	if b.held && len(b.errs) == 0 {
		b.held = false
		<-w.rows
	}
}

// counted gives back the batch's places.
func (w *windows) counted(b *batch) {
	if b.held {
		b.held = false
		<-w.rows
	}
	<-w.uncounted
}
