package recalc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
)

// Config tunes a Pool. Zero values get defaults.
type Config struct {
	Workers   int // concurrent workers (claim loops); default 2
	BatchSize int // customers claimed at once; default 1000
	// BatchInvoices caps the invoices a batch loads: the claimed customers past the cap are given
	// back at once, for another worker or the next batch, so a batch's memory and duration stay
	// bounded whatever its customers' size, and a few large customers are spread over the
	// workers instead of all landing on one. A customer with more invoices than the cap is
	// computed alone. Default DefaultBatchInvoices, negative: no cap.
	BatchInvoices int
	// SmallClaim is the most customers due in an account that a visit computes inside one
	// transaction, without a lease (small.go); default DefaultSmallClaim, negative: never.
	SmallClaim    int
	Lease         time.Duration    // how long a claim lasts before another worker may take it; default 10 s
	PollInterval  time.Duration    // idle wait between polls when nothing is due; default 200ms
	SweepInterval time.Duration    // how often the sweep runs; default 1 min
	MaxBackoff    time.Duration    // cap of the retry backoff; default 10 min
	Now           func() time.Time // injected clock; default models.Now
	Log           *slog.Logger     // default slog.Default()
	WorkerID      string           // who holds claims (locked_by); default hostname-pid-random
	// Finished, when set, is told after each committed write-back how many customers got fresh
	// metrics and how many were recorded as failed (for the process's Prometheus metrics).
	Finished func(ok, failed int)
	// AlsoSweep, when set, runs after each Sweep of the sweep loop (every SweepInterval): other
	// owners' periodic cleanups (imports' interruption, retention and key expiry) ride along
	// without recalc knowing them. Its error is logged.
	AlsoSweep func(ctx context.Context) error
	// Written, when set, is called in each write-back's transaction, after its writes, with the
	// MRR changes and the imports it caught up some customers of (webhooks record their events
	// there: committed with the metrics, or not at all). An error fails the write-back.
	Written func(ctx context.Context, tx *gorm.DB, w Written) error
	// Watched, when set with Written, says in the write-back's transaction whether anything
	// listens to the account's write-backs; when it says no, the write-back skips reading what
	// Written would be told (the previous MRR, the imports caught up) and does not call it.
	Watched func(ctx context.Context, tx *gorm.DB, account uuid.UUID) (bool, error)
	// Listen, when set, opens the dedicated connection on which the pool LISTENs for committed
	// writes (see notify.go): idle claim loops wake at once instead of at their next poll. Nil:
	// polling only, as behind a transaction-pooling PgBouncer.
	Listen ListenConn
}

// Defaults of Config.
const (
	DefaultWorkers   = 2
	DefaultBatchSize = 1000
	// DefaultBatchInvoices is 50 invoices for each of a full batch's customers (docs/metrics.md).
	DefaultBatchInvoices = 50 * DefaultBatchSize
	// DefaultLease bounds how long a killed process's claims keep their customers stale: its
	// heartbeat (every Lease/3) keeps a slow batch's claim alive, so it can be short.
	DefaultLease         = 5 * time.Second
	DefaultPollInterval  = 200 * time.Millisecond
	DefaultSweepInterval = time.Minute
	DefaultMaxBackoff    = 10 * time.Minute
)

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchInvoices == 0 {
		c.BatchInvoices = DefaultBatchInvoices
	}
	if c.SmallClaim == 0 {
		c.SmallClaim = min(DefaultSmallClaim, c.BatchSize)
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Now == nil {
		c.Now = models.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.WorkerID == "" {
		c.WorkerID = defaultWorkerID()
	}
	return c
}

// defaultWorkerID names this process in locked_by, so an operator looking at the queue can tell
// which host holds a claim; the random part tells apart two pools of one process, or a restarted
// process that got the same pid.
func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
