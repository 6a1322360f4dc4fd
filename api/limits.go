package api

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"invoice-ingest/config"
	"invoice-ingest/models"
)

// The limits' names, as telemetry counts their refusals.
const (
	bucketWrites   = "writes"
	bucketReads    = "reads"
	bucketInflight = "inflight"
	bucketAuth     = "auth"
	bucketStreams  = "streams" // MAX_STREAMS_PER_ACCOUNT, kept by the NDJSON streams
)

// maxBuckets bounds how many token buckets one set keeps (a few hundred bytes each): beyond it
// the least recently used bucket is dropped. Full buckets, equal to new ones, go first.
const maxBuckets = 1 << 14

// admission is the state of the limits of docs/limits.md, all of it in this process's memory.
type admission struct {
	writes, reads *bucketSet[uuid.UUID]     // per account; nil = no limit
	authFailures  *bucketSet[netip.Prefix]  // per client address; nil = no limit
	inflight      chan struct{}             // one token per write request running; nil = no cap
	unknownKeys   *lru[[32]byte, time.Time] // hashes of keys that failed recently -> until when
	lookups       singleflight.Group        // key lookups running, by key hash
	lookupTimeout time.Duration             // bounds a shared key lookup (keyLookupTimeout)
	now           func() time.Time
}

func newAdmission(l config.Limits) *admission {
	a := &admission{
		writes:        newBucketSet[uuid.UUID](l.WritesPerSecond),
		reads:         newBucketSet[uuid.UUID](l.ReadsPerSecond),
		authFailures:  newBucketSet[netip.Prefix](l.AuthFailuresPerSecond),
		unknownKeys:   newLRU[[32]byte, time.Time](maxUnknownKeys),
		now:           time.Now,
		lookupTimeout: keyLookupTimeout,
	}
	if l.MaxInflightWrites > 0 {
		a.inflight = make(chan struct{}, l.MaxInflightWrites)
	}
	return a
}

// bucketSet is one token bucket (golang.org/x/time/rate) per key, all with one rate and a burst
// of twice the rate (at least 1).
type bucketSet[K comparable] struct {
	limit   rate.Limit
	burst   int
	buckets *lru[K, *rate.Limiter]
}

// newBucketSet returns the buckets of perSecond requests per second, or nil for 0 (no limit).
func newBucketSet[K comparable](perSecond float64) *bucketSet[K] {
	if perSecond <= 0 {
		return nil
	}
	burst := max(1, int(math.Ceil(2*perSecond)))
	return &bucketSet[K]{limit: rate.Limit(perSecond), burst: burst, buckets: newLRU[K, *rate.Limiter](maxBuckets)}
}

// verdict is what a bucket said about one request.
type verdict struct {
	ok         bool
	limit      int           // the bucket's size
	remaining  int           // whole tokens left
	reset      time.Duration // until the bucket is full again
	retryAfter time.Duration // when refused: until the request would have been admitted
}

// take spends one token of key's bucket at now, or refuses the request when there is none.
func (b *bucketSet[K]) take(key K, now time.Time) verdict {
	lim := b.buckets.getOrAdd(key,
		func() *rate.Limiter { return rate.NewLimiter(b.limit, b.burst) },
		func(l *rate.Limiter) bool { return l.TokensAt(now) >= float64(b.burst) })
	r := lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now) // a refused request costs nothing
	}
	return b.verdict(lim, now, delay)
}

// peek tells, without spending, whether key's bucket would refuse a request at now.
func (b *bucketSet[K]) peek(key K, now time.Time) verdict {
	lim, ok := b.buckets.get(key)
	if !ok {
		return verdict{ok: true, limit: b.burst, remaining: b.burst}
	}
	tokens := lim.TokensAt(now)
	var delay time.Duration
	if tokens < 1 {
		delay = time.Duration((1 - tokens) / float64(b.limit) * float64(time.Second))
	}
	return b.verdict(lim, now, delay)
}

func (b *bucketSet[K]) verdict(lim *rate.Limiter, now time.Time, delay time.Duration) verdict {
	tokens := lim.TokensAt(now)
	return verdict{
		ok:         delay <= 0,
		limit:      b.burst,
		remaining:  max(0, int(math.Floor(tokens))),
		reset:      time.Duration((float64(b.burst) - tokens) / float64(b.limit) * float64(time.Second)),
		retryAfter: delay,
	}
}

// seconds rounds d up to whole seconds, at least min.
func seconds(d time.Duration, min int) string {
	return strconv.Itoa(max(min, int(math.Ceil(d.Seconds()))))
}

// setRateHeaders tells the client the state of the bucket its request used.
func setRateHeaders(c *gin.Context, v verdict) {
	c.Header("RateLimit-Limit", strconv.Itoa(v.limit))
	c.Header("RateLimit-Remaining", strconv.Itoa(v.remaining))
	c.Header("RateLimit-Reset", seconds(v.reset, 0))
}

// refuse answers 429 for the limit named bucket, with Retry-After from v.
func (s *Server) refuse(c *gin.Context, bucket string, v verdict) {
	s.Metrics.RateLimited(bucket)
	c.Header("Retry-After", seconds(v.retryAfter, 1))
	what := map[string]string{
		bucketWrites:  "write requests of this account",
		bucketReads:   "read requests of this account",
		bucketAuth:    "failed authentications from this address",
		bucketStreams: "NDJSON streams of this account at once",
	}[bucket]
	writeError(c, models.Errorf(codeRateLimited, "Too many %s; retry after %s s (see the RateLimit-* headers).",
		what, seconds(v.retryAfter, 1)))
}

// rateLimit spends a token of the account's bucket for the request: the reads bucket for GET and
// HEAD, the writes bucket for the rest. Every answer carries the RateLimit-* headers of that
// bucket; an empty bucket answers 429.
func (s *Server) rateLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		name, set := bucketWrites, s.limits.writes
		if m := c.Request.Method; m == http.MethodGet || m == http.MethodHead {
			name, set = bucketReads, s.limits.reads
		}
		if set == nil {
			c.Next()
			return
		}
		v := set.take(accountID(c), s.limits.now())
		setRateHeaders(c, v)
		if !v.ok {
			s.refuse(c, name, v)
			return
		}
		c.Next()
	}
}

// capInflight runs at most MAX_INFLIGHT_WRITES write requests at once; one more answers 503 at
// once rather than waiting for a slot, so a client (or its load balancer) can go elsewhere.
func (s *Server) capInflight() gin.HandlerFunc {
	return func(c *gin.Context) {
		slots := s.limits.inflight
		if slots == nil {
			c.Next()
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			c.Next()
		default:
			s.Metrics.RateLimited(bucketInflight)
			c.Header("Retry-After", "1")
			writeError(c, models.Errorf(models.EUNAVAILABLE,
				"This server is running its limit of %d write requests; retry later.", cap(slots)))
		}
	}
}
