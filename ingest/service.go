package ingest

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// Options change how a batch is handled.
type Options struct {
	// DryRun computes every status against the stored data but writes and queues nothing.
	DryRun bool
	// ImportID names the import this batch belongs to (uuid.Nil: none): the recalculation it
	// queues counts toward that import's metrics progress (recalc.EnqueueImport).
	ImportID uuid.UUID
	// Record, when set, is called once per batch that succeeds, with its final results and the
	// data sources its valid rows named. When the batch writes anything, it runs inside the write
	// transaction, before the commit (an error rolls the batch back), so what it records commits
	// with the rows or not at all; it may run more than once when the transaction is retried, the
	// last call being the one that commits. A batch that writes nothing (all rows unchanged or in
	// error, a dry run) calls it after its reads with tx a plain session of its own and wrote
	// false.
	Record func(tx *gorm.DB, results []Result, sources []uuid.UUID, wrote bool) error
	// Order, when set, orders this batch's write transaction among those of other batches (see
	// Order): an NDJSON stream's chunks commit in input order.
	Order Order
}

// Service runs batches. The zero value is not usable: DB is required.
type Service struct {
	DB *models.DB
	// Now is the clock for created_at / updated_at; models.Now when nil.
	Now func() time.Time
	// ChunkSize is the most rows in one upsert statement; 1000 when zero.
	ChunkSize int
	// Writers is the most write transactions of one account this Service runs at once
	// (DefaultWriters when zero, no bound when negative); more batches of the account wait for a
	// turn (see writers).
	Writers int

	sources   memo[sourceRef, uuid.UUID]
	resending memo[sourceKey, bool]
	writers   writers

	// afterReads, when set (tests only), runs once a batch's reads have decided its statuses and
	// before its write transaction begins.
	afterReads func()
}

// Customers upserts a batch of customer rows of one account.
func (s *Service) Customers(ctx context.Context, account uuid.UUID, rows validation.Rows, opt Options) ([]Result, error) {
	return run(ctx, s, customerKind, account, rows, opt)
}

// Plans upserts a batch of plan rows of one account.
func (s *Service) Plans(ctx context.Context, account uuid.UUID, rows validation.Rows, opt Options) ([]Result, error) {
	return run(ctx, s, planKind, account, rows, opt)
}

// Invoices upserts a batch of invoice rows of one account and queues the recalculation of every
// customer whose invoices changed.
func (s *Service) Invoices(ctx context.Context, account uuid.UUID, rows validation.Rows, opt Options) ([]Result, error) {
	return run(ctx, s, invoiceKind, account, rows, opt)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return models.Now()
}

func (s *Service) chunkSize() int {
	if s.ChunkSize > 0 {
		return s.ChunkSize
	}
	return 1000
}

// DefaultWriters is Service.Writers when zero: as many as the load tool's clients. It was 2 while
// every write of stored invoices locked and read them first and four writers of one account
// contended on a busy machine; without that lock read, 4 gave the 4-client insert 0.82-0.87 x
// COPY against 0.77-0.83 with 2, at the same PostgreSQL CPU per row (docs/performance.md).
const DefaultWriters = 4

// maxAttempts bounds how often a transaction is retried after a deadlock or serialization failure,
// so that such a transient conflict between clients never surfaces as an error.
const maxAttempts = 4

// inTx runs fn in one GORM transaction of account, retrying it from the start when PostgreSQL
// aborted it for a deadlock or serialization failure, or when order says to (ErrWriteAgain), or
// when its COPY of rows taken for new was refused (models.ErrCopyRefused). fn
// must be safe to re-run. Each attempt waits for order (nil: none), then for a write slot of the
// account (see writers).
func (s *Service) inTx(ctx context.Context, account uuid.UUID, order Order, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; {
		err = s.attempt(ctx, account, order, fn)
		switch {
		case errors.Is(err, ErrWriteAgain), errors.Is(err, models.ErrCopyRefused):
		case models.IsRetryable(err):
			attempt++
		default:
			return err
		}
	}
	return err
}

// attempt is one transaction of inTx. The slot is taken after order.Begin, so a batch waiting
// for an earlier one holds none, and that one can always get one.
func (s *Service) attempt(ctx context.Context, account uuid.UUID, order Order, fn func(tx *gorm.DB) error) error {
	if order != nil {
		if err := order.Begin(ctx); err != nil {
			return err
		}
	}
	if n := cmp.Or(s.Writers, DefaultWriters); n > 0 {
		release, err := s.writers.acquire(ctx, account, n)
		if err != nil {
			return err
		}
		defer release()
	}
	err := models.WriteTransaction(ctx, s.DB.Gorm, func(tx *gorm.DB) error {
		if order != nil {
			if err := order.Locked(ctx, tx); err != nil {
				return err
			}
		}
		return fn(tx)
	})
	if order != nil {
		order.Ended(err == nil)
	}
	return err
}
