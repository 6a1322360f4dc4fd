package api

import (
	"net/http"
	"time"

	"gorm.io/gorm"
)

// BatchFunc is the batch a stream chunk runs (an ingest.Service method).
type BatchFunc = batchFunc

// StreamInFlight is how many chunks of one stream may be read and not yet answered.
const StreamInFlight = streamInFlight

// WrapStreamBatch has s run each stream chunk's batch through f, given the index of the chunk's
// first row.
func WrapStreamBatch(s *Server, f func(base int, next BatchFunc) BatchFunc) { s.hooks.streamBatch = f }

// OnStreamBlocked has s call f, given the index of its first row, when a stream chunk waits to
// write for an earlier one because they share rows. f must not block.
func OnStreamBlocked(s *Server, f func(base int)) { s.hooks.streamBlocked = f }

// Stream end reasons, for tests.
var (
	ErrStreamIdle     = errIdle
	ErrStreamStopping = errStopping
)

// OnStreamEnd has s call f with the error each NDJSON stream ended with (io.EOF: its body
// ended), once the stream's handler is done.
func OnStreamEnd(s *Server, f func(error)) {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	s.streams.onEnd = f
}

// ReadyCacheFor sets how long s reuses a /readyz answer.
func ReadyCacheFor(s *Server, d time.Duration) { s.ready.cacheFor = d }

// KeyLookupTimeout sets how long s's shared key lookups may take (after Handler).
func KeyLookupTimeout(s *Server, d time.Duration) { s.limits.lookupTimeout = d }

// OnKeyClaimed has s call f once a JSON write took its Idempotency-Key, before its batch runs.
func OnKeyClaimed(s *Server, f func()) { s.hooks.keyClaimed = f }

// OnRecorded has s call f in a JSON write's transaction once its import is recorded there, before
// the commit (the batch's last step).
func OnRecorded(s *Server, f func(*gorm.DB, *http.Request)) { s.hooks.recorded = f }

// BeforeAnswer has s call f once a JSON write's batch committed, before the answer: when f
// returns false the connection is dropped unanswered, as a crash there would.
func BeforeAnswer(s *Server, f func(*http.Request) bool) { s.hooks.beforeAnswer = f }
