package ingest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// run is the whole pipeline for one batch: reads, then one write transaction if anything changed.
//
// Statuses are decided by reads outside any transaction, then only the rows that differ are
// written, in one transaction. Nothing is lost by reading first: under READ COMMITTED every
// statement sees its own snapshot anyway, and the upsert's RETURNING decides each written row's
// final status under its row lock; rows the reads found unchanged are share-locked and checked
// again in that transaction (see lockUnchanged), so the batch is one serial step. A batch of
// unchanged rows thus costs two reads, no transaction and no lock.
func run[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, raws validation.Rows, opt Options) ([]Result, error) {
	rows := readKeys(k, raws)
	defer k.giveRows(rows)
	now := s.now()
	if err := resolveSources(ctx, s, account, rows); err != nil {
		return nil, err
	}
	markDuplicates(k.noun, rows)
	for i := range rows { // a row in error reports all its errors
		if r := &rows[i]; len(r.errs) > 0 {
			r.parse(k, true) // RowKey checked the JSON
		}
	}
	rec := &recorder{importID: opt.ImportID, order: opt.Order}
	if opt.Record != nil {
		rec.record = func(tx *gorm.DB, wrote bool) error {
			rec.done, rec.results = true, results(rows)
			return opt.Record(tx, rec.results, rowSources(rows), wrote)
		}
	}
	for attempt := 1; ; attempt++ {
		rec.done = false
		err := decideAndWrite(ctx, s, k, account, now, rows, opt, rec)
		switch {
		case errors.Is(err, errRaced) && attempt < maxAttempts:
			continue // decide again from what the other writer committed
		case errors.Is(err, errRaced):
			return nil, models.Errorf(models.EUNAVAILABLE, "Other requests keep changing these rows; retry.")
		case err != nil:
			return nil, err
		}
		if rec.record != nil && !rec.done { // nothing was written: recorded on its own, in order
			if err := rec.settle(ctx); err != nil {
				return nil, err
			}
			if err := rec.record(s.DB.Gorm.WithContext(ctx), false); err != nil {
				return nil, err
			}
		}
		if rec.done { // the results the committed record was given: the same, made once
			return rec.results, nil
		}
		return results(rows), nil
	}
}

// decideAndWrite decides each valid row's status against the stored rows, then writes the rows
// that differ, if any, in one transaction.
func decideAndWrite[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, rows []row[R], opt Options, rec *recorder) error {
	groups := groupBySource(rows)
	changed := false
	for _, g := range groups {
		if err := compareGroup(ctx, s, k, account, g, opt.DryRun); err != nil {
			return err
		}
		changed = changed || len(g.changed) > 0
	}
	var keys []uint64
	if rec.order != nil && !rec.turned && changed && !opt.DryRun {
		keys = rowKeys(groups)
	}
	stale, err := rec.takeTurn(ctx, keys)
	switch {
	case err != nil:
		return err
	case stale && !changed:
		return errRaced // what the reads found unchanged may be older than an earlier batch's write
	}
	switch {
	case opt.DryRun: // nothing is written, so references are always looked up
		return checkReferences(ctx, s, k, account, groups)
	case changed:
		if s.afterReads != nil {
			s.afterReads()
		}
		return writeOrCheck(ctx, s, k, account, now, groups, rec)
	}
	return nil
}

// writeOrCheck writes the changed rows of every group. References (an invoice's customer and
// plan) are enforced by foreign keys, so they are not looked up first: nearly every batch is
// valid, and the lookups would cost each a large share of its insert (README, Performance). When
// a foreign key refuses the batch (its transaction rolled back, nothing was written), they are
// looked up to name the bad rows, and the rest is written.
func writeOrCheck[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, groups []*sourceGroup[R], rec *recorder) error {
	err := writeGroups(ctx, s, k, account, now, groups, rec)
	if k.check == nil || !isForeignKeyViolation(err) {
		return err
	}
	if err := checkReferences(ctx, s, k, account, groups); err != nil {
		return err
	}
	return writeGroups(ctx, s, k, account, now, groups, rec)
}

// recorder carries a batch's import into its write transaction: the import id for the
// recalculation outbox, and Options.Record bound to the batch's rows (nil when not set). done
// says the last write transaction called it.
type recorder struct {
	importID uuid.UUID
	record   func(tx *gorm.DB, wrote bool) error
	done     bool
	results  []Result // what the last call of record was given
	order    Order    // Options.Order
	turned   bool
}

// takeTurn waits for Options.Order's Turn the first time it is called; later it returns false
// at once.
func (rec *recorder) takeTurn(ctx context.Context, keys []uint64) (stale bool, err error) {
	if rec.order == nil || rec.turned {
		return false, nil
	}
	rec.turned = true
	return rec.order.Turn(ctx, keys)
}

// settle waits for the batches before this one (Order.Settle), if ordered.
func (rec *recorder) settle(ctx context.Context) error {
	if rec.order == nil {
		return nil
	}
	return rec.order.Settle(ctx)
}

// rowSources returns the data sources the valid rows named, each once.
func rowSources[R any](rows []row[R]) []uuid.UUID {
	var out []uuid.UUID
	for i := range rows {
		if r := &rows[i]; len(r.errs) == 0 && r.source != uuid.Nil && !slices.Contains(out, r.source) {
			out = append(out, r.source)
		}
	}
	return out
}
