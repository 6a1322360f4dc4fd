package ingest

import (
	"context"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/validation"
)

// run is the whole pipeline for one batch: reads, then one write transaction if anything changed.
//
// Statuses are decided by reads outside any transaction, then only the rows that differ are
// written, in one transaction. Nothing is lost by reading first: under READ COMMITTED every
// statement sees its own snapshot anyway, and the upsert's RETURNING decides each written row's
// final status under its row lock. A batch of unchanged rows thus costs two reads, no transaction
// and no lock.
func run[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, raws validation.Rows, opt Options) ([]Result, error) {
	rows := readKeys(k, raws)
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
	groups := groupBySource(rows)
	changed := false
	for _, g := range groups {
		if err := compareGroup(ctx, s, k, account, g, opt.DryRun); err != nil {
			return nil, err
		}
		changed = changed || len(g.changed) > 0
	}
	var err error
	switch {
	case opt.DryRun: // nothing is written, so references are always looked up
		err = checkReferences(ctx, s, k, account, groups)
	case changed:
		err = writeOrCheck(ctx, s, k, account, now, groups)
	}
	if err != nil {
		return nil, err
	}
	return results(rows), nil
}

// writeOrCheck writes the changed rows of every group. References (an invoice's customer and
// plan) are enforced by foreign keys, so they are not looked up first: nearly every batch is
// valid, and the lookups cost as much as a quarter of an insert. When a foreign key refuses the
// batch (its transaction rolled back, nothing was written), they are looked up to name the bad
// rows, and the rest is written.
func writeOrCheck[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, groups []*sourceGroup[R]) error {
	err := writeGroups(ctx, s, k, account, now, groups)
	if k.check == nil || !isForeignKeyViolation(err) {
		return err
	}
	if err := checkReferences(ctx, s, k, account, groups); err != nil {
		return err
	}
	return writeGroups(ctx, s, k, account, now, groups)
}
