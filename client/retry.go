package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Retry is the retry policy of a Client.
type Retry struct {
	Attempts int           // attempts per call, the first included
	Base     time.Duration // the first wait; each later one doubles
	MaxDelay time.Duration // the longest wait, Retry-After included
}

// DefaultRetry is SPEC 8's policy: 10 attempts, from 1 s, at most 30 s between two.
var DefaultRetry = Retry{Attempts: 10, Base: time.Second, MaxDelay: 30 * time.Second}

// RetryEvent tells OnRetry that a call is retried after Wait.
type RetryEvent struct {
	Method, Path string
	Attempt      int // the attempt that failed, from 1
	Wait         time.Duration
	Err          error // what failed: a network error or an *APIError
}

// GaveUpError is a call that failed on its last attempt, or whose failure is not worth retrying.
type GaveUpError struct {
	Attempts int
	Err      error
}

func (g *GaveUpError) Error() string {
	return fmt.Sprintf("gave up after %d attempt(s): %v", g.Attempts, g.Err)
}

func (g *GaveUpError) Unwrap() error { return g.Err }

// classify says whether an attempt's outcome is retried, and the Retry-After it asked for (0:
// none). Network errors, 429, 5xx and 409 (the key is held by an attempt still running) are.
func (p Retry) classify(res *response, err error) (time.Duration, bool) {
	if err != nil {
		return 0, true
	}
	s := res.status
	if s == http.StatusTooManyRequests || s >= 500 || s == http.StatusConflict {
		return retryAfter(res.header.Get("Retry-After")), true
	}
	return 0, false
}

// delay is the wait before attempt+1: Retry-After when the service gave one, otherwise
// Base*2^(attempt-1) with "equal jitter" (half fixed, half random), never above MaxDelay.
func (p Retry) delay(attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.MaxDelay)
	}
	d := p.Base
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// retryAfter parses Retry-After: whole seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// retryCause is the error a retried attempt ended with.
func retryCause(res *response, err error) error {
	if err != nil {
		return err
	}
	return problem(res)
}

// IsGaveUp reports whether err is a call that exhausted its attempts or met a failure that
// retrying cannot mend (an answer the client could not use).
func IsGaveUp(err error) bool {
	var g *GaveUpError
	return errors.As(err, &g)
}
