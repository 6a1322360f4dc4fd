package main

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"

	"invoice-ingest/models"
)

// runGorm measures what a user would write first: GORM's CreateInBatches with an upsert clause,
// on []models.Invoice, through the service's own pool (models.Open: database/sql over pgx, the
// same settings the service runs with). -clients goroutines each take -batch rows at a time, so
// each call is one INSERT ... ON CONFLICT DO UPDATE SET <every column> of one batch.
//
// It gives no per-row statuses and rewrites every row on a re-send, which is the point of the
// comparison; its unchanged and update passes are shown for information only.
func (b *bench) runGorm(ctx context.Context, rows, changed []invoice) error {
	now := models.Now()
	passes := []struct {
		pass string
		rows []models.Invoice
	}{
		{"insert", gormInvoices(rows, b.account, b.source, now)},
		{"unchanged", gormInvoices(rows, b.account, b.source, now)},
		{"update", gormInvoices(changed, b.account, b.source, now)},
	}
	if err := b.reset(ctx); err != nil {
		return err
	}
	for i, p := range passes {
		if i > 0 {
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
		b.log("GORM: %s pass, %d rows", p.pass, len(p.rows))
		parts := batches(len(p.rows), b.cfg.batch)
		d, cpu, err := b.timePass(func() error {
			return parallel(ctx, b.cfg.clients, len(parts), func(ctx context.Context, i int) error {
				chunk := p.rows[parts[i][0]:parts[i][1]]
				res := b.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).
					CreateInBatches(chunk, b.cfg.batch)
				if res.Error == nil && res.RowsAffected != int64(len(chunk)) {
					return fmt.Errorf("GORM wrote %d rows of %d", res.RowsAffected, len(chunk))
				}
				return res.Error
			})
		})
		if err != nil {
			return err
		}
		b.add(result{method: "GORM", pass: p.pass, rows: len(p.rows), dur: d, cpu: cpu, note: "no per-row statuses"})
		if p.pass == "insert" {
			if err := b.countInvoices(ctx, len(rows)); err != nil {
				return err
			}
		}
	}
	return nil
}
