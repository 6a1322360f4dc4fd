package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// errIdle ends a stream that sent no byte for STREAM_IDLE_TIMEOUT; errStopping one that the
// server's shutdown ends.
var (
	errIdle     = errors.New("stream idle")
	errStopping = errors.New("server stopping")
)

// streamState counts the NDJSON streams running per account. An account leaves the map when its
// last stream ends, so the map holds at most one entry per running stream.
type streamState struct {
	mu      sync.Mutex
	running map[uuid.UUID]int
	// onEnd, when set (by tests), is called with the error each stream ended with (io.EOF: the
	// body ended) once its handler is done with the connection.
	onEnd func(error)
}

// acquire counts a new stream of account, unless it has max running already (0: no limit).
func (st *streamState) acquire(account uuid.UUID, max int) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if max > 0 && st.running[account] >= max {
		return false
	}
	if st.running == nil {
		st.running = make(map[uuid.UUID]int)
	}
	st.running[account]++
	return true
}

// release uncounts a stream of account.
func (st *streamState) release(account uuid.UUID) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.running[account] <= 1 {
		delete(st.running, account)
		return
	}
	st.running[account]--
}

// ended reports a stream's end to the test hook.
func (st *streamState) ended(err error) {
	st.mu.Lock()
	f := st.onEnd
	st.mu.Unlock()
	if f != nil {
		f(err)
	}
}

// refuseStream answers a stream over MAX_STREAMS_PER_ACCOUNT: 429, retry in a second.
func (s *Server) refuseStream(c *gin.Context) {
	s.refuse(c, bucketStreams, verdict{retryAfter: time.Second})
}

// openStream prepares a stream's reader, writer and deadlines, and has it told of a shutdown.
func (s *Server) openStream(c *gin.Context) *stream {
	rc := http.NewResponseController(c.Writer)
	// Go's HTTP/1 server stops reading a request body once the response has started, unless told.
	_ = rc.EnableFullDuplex()
	body := &streamBody{r: c.Request.Body, rc: rc, idle: s.Config.StreamIdleTimeout, stopping: s.Stopping, done: make(chan struct{})}
	if s.Stopping != nil {
		body.watching = make(chan struct{})
		go body.watch()
	}
	// Decompression (Content-Encoding: gzip) reads through the deadlines; its read errors are
	// 400s that keep errIdle and errStopping in their chain.
	return &stream{c: c, rc: rc, timeout: s.Config.StreamIdleTimeout, body: body,
		in: bufio.NewReaderSize(orFailing(decodedBody(c, body)), 64<<10), out: bufio.NewWriterSize(c.Writer, 64<<10)}
}

// close releases what the stream holds once it is answered. The watcher is gone when it
// returns: nothing may touch the connection's deadlines after the handler.
func (st *stream) close() {
	close(st.body.done)
	if st.body.watching != nil {
		<-st.body.watching
	}
}

// writeDeadline bounds the writes that follow, so a client that stops reading the answer cannot
// hold the handler: each chunk's results must be taken within STREAM_IDLE_TIMEOUT.
func (st *stream) writeDeadline() {
	if st.timeout > 0 {
		_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	}
}

// streamBody is a stream's request body: each read must bring a byte within the idle timeout,
// and a shutdown ends the reading (a blocked read at once, through its deadline).
type streamBody struct {
	r        io.Reader
	rc       *http.ResponseController
	idle     time.Duration
	stopping <-chan struct{}
	done     chan struct{} // closed when the stream is over: watch returns
	watching chan struct{} // closed when watch has returned; nil when it does not run

	mu      sync.Mutex
	stopped bool // by a shutdown
	aborted bool // by the stream itself (abort)
}

// Read reads with a fresh idle deadline; its errors say why reading ended.
func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.aborted:
		b.mu.Unlock()
		return 0, errAbandoned
	case b.stopped || b.stopRequested(): // not only once watch noticed: a stream that starts
		b.mu.Unlock() // after the stop must read nothing, whenever watch gets to run
		return 0, errStopping
	}
	if b.idle > 0 {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	b.mu.Unlock()
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		switch {
		case b.stopRequested():
			err = errStopping
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = errIdle
		}
	}
	return n, err
}

// watch stops the reading when the server is told to stop, unless the stream is over first.
func (b *streamBody) watch() {
	defer close(b.watching)
	select {
	case <-b.stopping:
	case <-b.done:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	_ = b.rc.SetReadDeadline(time.Now()) // a read blocked on the client returns now
}

// abort ends the reading now: the stream is over (a chunk failed, or its answer could not be sent).
func (b *streamBody) abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.aborted = true
	_ = b.rc.SetReadDeadline(time.Now())
}

// stopRequested reports whether the server is shutting down.
func (b *streamBody) stopRequested() bool {
	select {
	case <-b.stopping:
		return true
	default:
		return false
	}
}

// requestDeadline gives every request but an NDJSON stream REQUEST_TIMEOUT to finish: its
// context ends then, so a database that does not answer in time answers 503 unavailable with
// Retry-After, as one that is down does. Streams have deadlines of their own (see upsertStream).
func (s *Server) requestDeadline() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.Config.RequestTimeout <= 0 || mediaType(c) == typeNDJSON {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.Config.RequestTimeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
