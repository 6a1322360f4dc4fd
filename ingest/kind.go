package ingest

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// kind tells the pipeline what differs between customers, plans and invoices (customers.go,
// plans.go, invoices.go define one each).
type kind[R any] struct {
	noun   string // "invoice", as messages name the entity
	entity models.Entity
	parse  func(json.RawMessage) (R, []validation.FieldError)
	// parseValid is parse for a row known to be valid JSON.
	parseValid func(json.RawMessage) (R, []validation.FieldError)
	// ident returns the row's id and data source reference as the client gave them.
	ident func(*R) (id, source string)
	hash  func(*hasher, *R) digest
	// check adds the errors of references other than the data source (customers, plans) to rows
	// of one source; nil for kinds without such references. Foreign keys hold the same rule, so
	// a write runs it only after a foreign key refused the batch (see writeOrCheck).
	check func(ctx context.Context, db *gorm.DB, account, source uuid.UUID, rows []*row[R]) error
	// write upserts rows of one source, sorted by id, in transaction tx (see models.Written).
	write func(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[R]) (models.Written, error)
	// insertNew inserts the rows of one source that have no stored row, sorted by id, in tx and
	// returns them; it leaves stored rows alone, unlocked. Set for kinds whose write must lock the
	// stored rows it rewrites first (customer set); nil for the others.
	insertNew func(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[R]) (models.Written, error)
	// copyNew is insertNew by COPY, for at least copyMinRows rows: it fails, with an error that
	// wraps models.ErrCopyRefused, when a row turns out stored or Citus refused the rows (see
	// writeGroups); nil for kinds without it.
	copyNew func(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[R]) (models.Written, error)
	// writeKept is write for rows that keep their customer: it writes those and leaves the rows it
	// would move to another customer stored, locked and unreturned (models.UpsertKeptInvoices).
	// Set when customer is.
	writeKept func(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[R]) (models.Written, error)
	// customer returns the customer whose metrics a written row changes; nil for kinds that
	// change no metrics.
	customer func(*R) string
	// rowSlices keeps the rows of finished batches for the next ones (row.go).
	rowSlices sync.Pool
}
