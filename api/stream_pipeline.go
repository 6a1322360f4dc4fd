package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/ingest"
	"invoice-ingest/validation"
)

// streamInFlight bounds the chunks of one stream that are read and not yet answered: some being
// written (up to streamWriters) while the next ones are read, parsed and compared with the stored
// rows. It bounds a stream's memory (that many chunks) and what a client cut off mid-stream may
// find stored beyond the rows answered to it (docs/operations.md).
const streamInFlight = 4

// errAbandoned ends the chunks behind one whose batch or answer failed: they write nothing.
var errAbandoned = errors.New("stream abandoned")

// flight is one chunk on its way through a stream: read, handed to its own goroutine (which
// parses it, reads the stored rows and then, in its order, writes it), answered.
type flight struct {
	ch   chunk
	base int // stream index of its first row
	res  []ingest.Result
	t    *ticket // this chunk's; a new one for each chunk, since flights are reused
}

// pipeline runs one stream's chunks in three stages: the reader goroutine reads chunks and
// starts each one's batch; the batches run at once up to their write, then write up to
// streamWriters at once and commit in input order (chunkOrder), so commits keep the order of
// the rows; the handler's goroutine answers them in input order. At most streamInFlight chunks
// are between the first and the last stage.
type pipeline struct {
	st      *stream
	batch   batchFunc
	opt     ingest.Options
	account uuid.UUID
	ctx     context.Context // the batches'; cancelled by stop
	cancel  context.CancelFunc
	queue   chan *flight  // started, in input order; closed when the reader returns
	free    chan *flight  // answered, for the reader to reuse
	quit    chan struct{} // closed by stop: the reader stops
	stopped sync.Once
	seq     sequencer                                // the chunks' write order (stream_order.go)
	made    int                                      // flights allocated (reader only)
	readErr error                                    // why the reader returned; read once queue is closed
	wrap    func(base int, next batchFunc) batchFunc // test hook (writeHooks.streamBatch)
}

// run reads and answers chunks until the body ends (io.EOF) or something stops the stream.
func (st *stream) run(batch batchFunc, opt ingest.Options, hooks writeHooks) error {
	// Not the request's context: net/http cancels it when a read of the body fails (an idle
	// stream, a client gone), and the chunks already read must still be written and answered.
	ctx, cancel := context.WithCancel(context.WithoutCancel(st.c.Request.Context()))
	defer cancel()
	p := &pipeline{st: st, batch: batch, opt: opt, account: accountID(st.c), ctx: ctx, cancel: cancel, wrap: hooks.streamBatch,
		queue: make(chan *flight, streamInFlight), free: make(chan *flight, streamInFlight), quit: make(chan struct{})}
	p.seq.blocked = hooks.streamBlocked
	go p.read()
	return p.answer()
}

// answer answers the chunks in order as their batches return. On the first failure it stops
// the rest; it returns once the reader and every batch are done, with the first failure, or
// else why the reading ended.
func (p *pipeline) answer() error {
	var err error
	for f := range p.queue {
		<-f.t.done
		if err == nil {
			if err = f.t.err; err == nil {
				err = p.st.answer(f)
			}
			if err != nil {
				p.stop()
			}
		}
		f.ch.reset()
		p.free <- f // room for every flight: never blocks
	}
	if err == nil {
		err = p.readErr
	}
	return err
}

// stop ends the reading (a read blocked on the client returns now) and the batches not yet
// committed.
func (p *pipeline) stop() {
	p.stopped.Do(func() {
		close(p.quit)
		p.cancel()
		p.st.body.abort()
	})
}

// read reads chunks and starts them until the body ends or reading fails. As before the
// pipeline, a chunk cut by a read error is not written, and a shutdown stops the stream at a
// chunk boundary.
func (p *pipeline) read() {
	defer close(p.queue)
	// The tickets of the last chunks started, oldest first: those before them have been answered.
	var recent []*ticket
	next := 0
	for {
		f := p.take()
		if f == nil {
			p.readErr = errAbandoned
			return
		}
		err := p.st.fill(&f.ch)
		if len(f.ch.ends) > 0 && (err == nil || err == io.EOF) {
			f.base, next = next, next+len(f.ch.ends)
			p.start(f, recent)
			recent = append(recent[max(len(recent)-(streamInFlight-2), 0):], f.t)
			p.queue <- f
		} else {
			f.ch.reset()
			p.free <- f
		}
		if err == nil && p.st.body.stopRequested() {
			err = errStopping
		}
		if err != nil {
			p.readErr = err
			return
		}
	}
}

// take returns a flight to read into, waiting while streamInFlight are under way; nil once the
// pipeline is stopped.
func (p *pipeline) take() *flight {
	select {
	case <-p.quit:
		return nil
	case f := <-p.free:
		return f
	default:
	}
	if p.made < streamInFlight {
		p.made++
		return &flight{}
	}
	select {
	case <-p.quit:
		return nil
	case f := <-p.free:
		return f
	}
}

// start runs f's batch in a goroutine of its own; its write is ordered after the chunks before
// it still in flight (earlier, see chunkOrder).
func (p *pipeline) start(f *flight, earlier []*ticket) {
	t := &ticket{done: make(chan struct{}), lock: chunkLocks.Add(1)}
	f.res, f.t = nil, t
	opt := p.opt
	opt.ImportID, opt.Record = p.st.imp.ID, f.record(p.st.imp)
	p.seq.mu.Lock()
	since := p.seq.commits // before f's reads begin
	p.seq.mu.Unlock()
	opt.Order = &chunkOrder{seq: &p.seq, t: t, base: f.base, earlier: slices.Clone(earlier), since: since}
	rows := validation.Lines(f.ch.raw())
	batch := p.batch
	if p.wrap != nil {
		batch = p.wrap(f.base, batch)
	}
	go func() {
		defer close(t.done)
		defer p.seq.update(func() { t.finished = true })
		defer func() { // the handler's recovery does not reach this goroutine
			if r := recover(); r != nil {
				f.res, t.err = nil, fmt.Errorf("stream batch panicked: %v\n%s", r, debug.Stack())
			}
		}()
		f.res, t.err = batch(p.ctx, p.account, rows, opt)
	}()
}

// record returns f's ingest.Options.Record: the chunk's results join the stream's import.
func (f *flight) record(imp imports.Header) func(*gorm.DB, []ingest.Result, []uuid.UUID, bool) error {
	ch := &f.ch
	return func(tx *gorm.DB, res []ingest.Result, sources []uuid.UUID, wrote bool) error {
		for i := range res {
			if ch.long[i] {
				r := tooLongResult()
				r.Index = res[i].Index
				res[i] = r
			}
		}
		raw := func(i int) ([]byte, bool) {
			if ch.long[i] {
				return nil, false
			}
			return ch.rows[i], false
		}
		b := importBatch(res, sources, f.base, raw)
		b.Alone = !wrote
		return imports.RecordChunk(tx, imp, b)
	}
}
