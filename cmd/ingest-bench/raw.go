package main

import (
	"context"
	"fmt"
	"time"

	"invoice-ingest/models"
)

// rawUpsertSQL is the best hand-written upsert with per-row statuses: the whole batch as arrays,
// one statement, rows whose content hash is unchanged left alone, RETURNING telling inserted
// (xmax = 0) from updated. A row not returned is unchanged.
const rawUpsertSQL = `
INSERT INTO invoices AS t (account_id, source_id, id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.customer_id, r.type, r.date, r.amount_cents, r.currency, r.plan_id,
    r.subscription_id, r.start_date, r.end_date, r.quantity, r.discount, r.content_hash, $16, $16
FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[], $8::text[], $9::text[],
    $10::text[], $11::timestamptz[], $12::timestamptz[], $13::bigint[], $14::bigint[], $15::bytea[])
    AS r(id, customer_id, type, date, amount_cents, currency, plan_id,
    subscription_id, start_date, end_date, quantity, discount, content_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    customer_id = excluded.customer_id, type = excluded.type, date = excluded.date,
    amount_cents = excluded.amount_cents, currency = excluded.currency, plan_id = excluded.plan_id,
    subscription_id = excluded.subscription_id, start_date = excluded.start_date, end_date = excluded.end_date,
    quantity = excluded.quantity, discount = excluded.discount, content_hash = excluded.content_hash,
    updated_at = excluded.updated_at
WHERE t.content_hash <> excluded.content_hash
RETURNING t.id, t.xmax = 0`

// runRaw measures the raw upsert: insert into the empty table, re-send the same rows
// (unchanged), then the changed rows (update). Each pass splits the rows into -batch batches
// that -clients goroutines, each on its own pooled connection, pull until none is left: the
// same concurrency as the e2e clients. Each statement is its own transaction.
func (b *bench) runRaw(ctx context.Context, rows, changed []invoice) error {
	if err := b.reset(ctx); err != nil {
		return err
	}
	for i, p := range []struct {
		pass, want string
		rows       []invoice
	}{{"insert", "inserted", rows}, {"unchanged", "unchanged", rows}, {"update", "updated", changed}} {
		if i > 0 {
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
		b.log("raw: %s pass, %d rows", p.pass, len(p.rows))
		parts := batches(len(p.rows), b.cfg.batch)
		d, cpu, err := b.timePass(func() error {
			return parallel(ctx, b.cfg.clients, len(parts), func(ctx context.Context, i int) error {
				return b.rawBatch(ctx, p.rows[parts[i][0]:parts[i][1]], p.want)
			})
		})
		if err != nil {
			return err
		}
		b.add(result{method: "raw", pass: p.pass, rows: len(p.rows), dur: d, cpu: cpu})
		if p.pass == "insert" {
			if err := b.countInvoices(ctx, len(rows)); err != nil {
				return err
			}
		}
	}
	return nil
}

// rawBatch upserts one batch, reads every returned row, derives each row's status and checks it.
func (b *bench) rawBatch(ctx context.Context, rows []invoice, want string) error {
	n := len(rows)
	ids, customers, types, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dates, starts, ends := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	amounts := make([]int64, n)
	planIDs, subs := make([]*string, n), make([]*string, n)
	quantities, discounts := make([]*int64, n), make([]*int64, n)
	hashes := make([][]byte, n)
	for i := range rows {
		v := &rows[i]
		ids[i], customers[i], types[i], currencies[i] = v.id, v.customer, v.typ, v.currency
		dates[i], starts[i], ends[i], amounts[i] = v.date, v.start, v.end, v.amount
		planIDs[i], subs[i] = optStr(v.plan), optStr(v.sub)
		quantities[i], discounts[i], hashes[i] = optInt(v.quantity), optInt(v.discount), v.hash[:]
	}
	res, err := b.pool.Query(ctx, rawUpsertSQL, [16]byte(b.account), [16]byte(b.source), ids, customers, types,
		dates, amounts, currencies, planIDs, subs, starts, ends, quantities, discounts, hashes, models.Now())
	if err != nil {
		return err
	}
	written := make(map[string]bool, n)
	var id string
	var inserted bool
	for res.Next() {
		if err := res.Scan(&id, &inserted); err != nil {
			res.Close()
			return err
		}
		written[id] = inserted
	}
	if err := res.Err(); err != nil {
		return err
	}
	for i := range rows {
		status := "unchanged"
		if ins, ok := written[rows[i].id]; ok && ins {
			status = "inserted"
		} else if ok {
			status = "updated"
		}
		if status != want {
			return fmt.Errorf("raw upsert: row %s is %s, want %s", rows[i].id, status, want)
		}
	}
	return nil
}
