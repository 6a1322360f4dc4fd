package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"invoice-ingest/models"
)

// invoiceColumns are the columns COPY fills, in its order.
var invoiceColumns = []string{"account_id", "source_id", "id", "customer_id", "type", "date", "amount_cents",
	"currency", "plan_id", "subscription_id", "start_date", "end_date", "quantity", "discount", "content_hash",
	"created_at", "updated_at"}

// runCopy measures the ceiling: pgx CopyFrom into the empty table (same indexes and foreign keys
// as every other method), in -batch-row chunks that -clients connections pull concurrently, the
// same split and concurrency as raw and e2e. (One CopyFrom of everything on one connection is
// slower than the concurrent raw upsert on two cores: one backend does all of the server's work,
// so it would be no ceiling.) No statuses, no conflict handling: it only works because the table
// is empty, which is what makes it the ceiling.
func (b *bench) runCopy(ctx context.Context, rows []invoice) error {
	if err := b.reset(ctx); err != nil {
		return err
	}
	b.log("COPY: %d rows, CopyFrom of %d-row chunks on %d connections", len(rows), b.cfg.batch, b.cfg.clients)
	// Uuids as [16]byte: pgx encodes them natively, while uuid.UUID would go through its text form.
	account, source := [16]byte(b.account), [16]byte(b.source)
	now := models.Now()
	parts := batches(len(rows), b.cfg.batch)
	d, cpu, err := b.timePass(func() error {
		return parallel(ctx, b.cfg.clients, len(parts), func(ctx context.Context, i int) error {
			chunk := rows[parts[i][0]:parts[i][1]]
			n, err := b.pool.CopyFrom(ctx, pgx.Identifier{"invoices"}, invoiceColumns,
				pgx.CopyFromSlice(len(chunk), func(i int) ([]any, error) {
					v := &chunk[i]
					return []any{account, source, v.id, v.customer, v.typ, v.date, v.amount, v.currency,
						nullStr(v.plan), nullStr(v.sub), v.start, v.end, nullInt(v.quantity), nullInt(v.discount),
						v.hash[:], now, now}, nil
				}))
			if err == nil && n != int64(len(chunk)) {
				err = fmt.Errorf("COPY wrote %d rows, want %d", n, len(chunk))
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	b.add(result{method: "COPY", pass: "insert", rows: len(rows), dur: d, cpu: cpu})
	return b.countInvoices(ctx, len(rows))
}

// nullStr and nullInt map "absent" to SQL NULL for COPY.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
