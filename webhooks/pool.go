package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"invoice-ingest/models"
)

// Config tunes a Pool. Zero values get defaults.
type Config struct {
	Workers      int           // concurrent claim loops; default 2
	BatchSize    int           // deliveries claimed at once, sent concurrently; default 10
	PollInterval time.Duration // idle wait between polls when nothing is due; default 200 ms
	// Lease is how long a claim lasts: longer than an attempt can take (Timeout), so a claim is
	// taken over only from a worker that died. Default 1 min.
	Lease   time.Duration
	Timeout time.Duration // one attempt's bound (SPEC 9: 10 s); default 10 s
	Guard   Guard
	Now     func() time.Time // injected clock for due times, backoff and webhook-timestamp; default models.Now
	Log     *slog.Logger     // default slog.Default()
	// Attempted, when set, is told each attempt's result: "delivered", "retried" (failed, to be
	// tried again) or "failed" (failed for good), for the process's Prometheus metrics.
	Attempted func(result string)
	WorkerID  string // who holds claims (locked_by); default hostname-pid-random
}

// Defaults of Config.
const (
	DefaultWorkers      = 2
	DefaultBatchSize    = 10
	DefaultPollInterval = 200 * time.Millisecond
	DefaultLease        = time.Minute
	DefaultTimeout      = 10 * time.Second
)

func (c Config) withDefaults() Config {
	c.Workers = orDefault(c.Workers, DefaultWorkers)
	c.BatchSize = orDefault(c.BatchSize, DefaultBatchSize)
	c.PollInterval = orDefault(c.PollInterval, DefaultPollInterval)
	c.Lease = orDefault(c.Lease, DefaultLease)
	c.Timeout = orDefault(c.Timeout, DefaultTimeout)
	if c.Now == nil {
		c.Now = models.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Attempted == nil {
		c.Attempted = func(string) {}
	}
	if c.WorkerID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return c
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Pool delivers the due deliveries of every account. Several Pools (in one process or many)
// may share the table: claims are disjoint (SKIP LOCKED) and leased.
type Pool struct {
	db     *models.DB
	cfg    Config
	client *http.Client
	seq    atomic.Uint64
	// settled, when set (tests), is told after each attempt's outcome committed.
	settled func(d delivery, status string)
}

// NewPool returns a pool delivering from db; cfg's zero fields get defaults.
func NewPool(db *models.DB, cfg Config) *Pool {
	cfg = cfg.withDefaults()
	return &Pool{db: db, cfg: cfg, client: newClient(cfg)}
}

// Run delivers until ctx ends, then returns once every attempt in flight has ended (attempts
// cut short are given back, due at once, to be sent again).
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Go(func() { p.work(ctx) })
	}
	wg.Wait()
	p.client.CloseIdleConnections()
}

// work claims and delivers batches until ctx ends, waiting PollInterval (longer after errors)
// when nothing was due.
func (p *Pool) work(ctx context.Context) {
	idle := p.cfg.PollInterval
	for ctx.Err() == nil {
		n, err := p.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.cfg.Log.Warn("webhooks: deliver", "error", err.Error())
			idle = min(idle*2, 5*time.Second)
		case err == nil:
			idle = p.cfg.PollInterval
		}
		if n > 0 && err == nil {
			continue
		}
		t := time.NewTimer(idle)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims one batch of due deliveries and attempts each, concurrently; it returns how
// many it claimed.
func (p *Pool) RunOnce(ctx context.Context) (int, error) {
	seq := p.seq.Add(1)
	token := p.cfg.WorkerID + "." + fmt.Sprint(seq)
	batch, claimErr := p.claim(ctx, token, int(seq%1000))
	if len(batch) == 0 {
		return 0, claimErr
	}
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i := range batch {
		wg.Go(func() { errs[i] = p.deliver(ctx, batch[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return len(batch), err
		}
	}
	return len(batch), claimErr // what was claimed before an error is delivered all the same
}
