package api

import "time"

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
