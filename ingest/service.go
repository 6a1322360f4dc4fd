package ingest

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// Status is the outcome of one row.
type Status string

// Row outcomes, as SPEC section 4 names them.
const (
	Inserted  Status = "inserted"
	Updated   Status = "updated"
	Unchanged Status = "unchanged"
	Failed    Status = "error"
)

// Result is the outcome of the row at Index of a request. ID is the row's id when it had a valid
// one, else "" (shown as null).
type Result struct {
	Index  int
	ID     string
	Status Status
	Errors []validation.FieldError
}

// Options change how a batch is handled.
type Options struct {
	// DryRun computes every status against the stored data but writes and queues nothing.
	DryRun bool
}

// Service runs batches. The zero value is not usable: DB is required.
type Service struct {
	DB *models.DB
	// Now is the clock for created_at / updated_at; models.Now when nil.
	Now func() time.Time
	// ChunkSize is the most rows in one upsert statement; 1000 when zero.
	ChunkSize int

	sources   memo[sourceRef, uuid.UUID]
	resending memo[sourceKey, bool]
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

// maxAttempts bounds how often a batch is retried after a deadlock or serialization failure, so
// that such a transient conflict between clients never surfaces as an error.
const maxAttempts = 4

// inTx runs fn in one transaction, retrying it from the start when
// PostgreSQL aborted it for a deadlock or serialization failure. fn must be safe to re-run.
func (s *Service) inTx(ctx context.Context, fn func(tx *gorm.DB, sqlTx *sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = s.DB.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
			if !ok {
				return errors.New("ingest: GORM transaction has no *sql.Tx")
			}
			return fn(tx, sqlTx)
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			return err
		}
	}
	return err
}
