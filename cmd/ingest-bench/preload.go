package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

// preloadCustomers is how many customers the -preload invoices are spread over.
const preloadCustomers = 100_000

// preloadSlice is how many invoices one untimed preload statement inserts.
const preloadSlice = 1_000_000

// preloadSQL fills the table the -preload passes run against, in plain SQL on the server (the
// load is untimed: only the state it leaves matters). The invoices spread over preloadCustomers
// customers, about 100 each, with the bench rows' mix of types and 16-byte hashes, so that rows,
// pages and index entries are the size the service's own are.
var preloadSQL = struct{ customers, invoices, queue string }{`
INSERT INTO customers (account_id, source_id, id, name, content_hash, created_at, updated_at)
SELECT $1, $2, 'pre_' || c, 'Preloaded ' || c, decode(md5(c::text), 'hex'), now(), now()
FROM generate_series(0, $3::int - 1) c`, `
INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
    plan_id, subscription_id, start_date, end_date, quantity, discount, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, 'pre_inv_' || i, 'pre_' || (i % $3),
       CASE WHEN i % 20 < 14 THEN 'subscription' WHEN i % 20 < 17 THEN 'one-time'
            WHEN i % 20 < 19 THEN 'refund' ELSE 'cancellation' END,
       s, CASE WHEN i % 20 < 19 THEN 900 + (i % 97) * 100 ELSE 0 END, 'USD',
       CASE WHEN i % 20 < 14 THEN 'plan_basic_m' END,
       CASE WHEN i % 20 < 14 OR i % 20 = 19 THEN 'sub_pre_' || (i % $3) END,
       s, s + interval '1 month', CASE WHEN i % 3 = 0 THEN 1 + i % 10 END, NULL,
       decode(md5(i::text), 'hex'), decode(md5('raw' || i), 'hex'), now(), now()
FROM generate_series($4::bigint, $5::bigint - 1) i,
     LATERAL (SELECT timestamptz '2018-01-01 00:00:00+00' + ((i / $3) % 108) * interval '1 month' AS s) d`, `
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT $1, $2, 'pre_' || c FROM generate_series(0, $3::int - 1) c
ON CONFLICT DO NOTHING`}

// preloadResult is what -preload measured besides its passes: the load and the table's size.
type preloadResult struct {
	rows      int
	load      time.Duration
	tableMiB  float64            // heap and TOAST of invoices after the passes
	indexMiB  map[string]float64 // each index of invoices
	totalRows int                // invoices when the sizes were taken
	drain     *result            // the recalculation drain at that size
}

// runPreloaded loads -preload invoices over 100,000 customers (untimed), then runs the e2e
// passes on the same rows as the empty-table ones, then drains -recalc-customers preloaded
// customers (about 100 invoices each) plus what the passes queued, and takes the table's sizes.
func (b *bench) runPreloaded(ctx context.Context, srv *server, rows, changed []invoice) error {
	n := b.cfg.preload
	if n == 0 {
		return nil
	}
	if err := b.reset(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := b.preload(ctx, n); err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	b.pre = &preloadResult{rows: n, load: time.Since(start)}
	if err := b.settle(ctx); err != nil {
		return err
	}
	if err := b.e2ePasses(ctx, srv, "e2e@preload", rows, changed); err != nil {
		return err
	}
	queue := min(b.cfg.recalcCustomers, preloadCustomers)
	if _, err := b.pool.Exec(ctx, preloadSQL.queue, [16]byte(b.account), [16]byte(b.source), queue); err != nil {
		return err
	}
	queued, d, err := b.drain(ctx)
	if err != nil {
		return err
	}
	b.pre.drain = &result{method: "recalc@preload", pass: "drain", rows: queued, dur: d}
	b.log("  recalc@preload drain: %d customers (%d preloaded, ~%d invoices each) in %.3f s = %.0f/s",
		queued, queue, n/preloadCustomers, d.Seconds(), b.pre.drain.rate())
	return b.tableSizes(ctx)
}

// preload inserts the customers, then the invoices a slice at a time, logging progress.
func (b *bench) preload(ctx context.Context, n int) error {
	acc, src := [16]byte(b.account), [16]byte(b.source)
	b.log("preload: %d customers, then %d invoices (untimed)", preloadCustomers, n)
	if _, err := b.pool.Exec(ctx, preloadSQL.customers, acc, src, preloadCustomers); err != nil {
		return err
	}
	for lo := 0; lo < n; lo += preloadSlice {
		hi := min(lo+preloadSlice, n)
		if _, err := b.pool.Exec(ctx, preloadSQL.invoices, acc, src, preloadCustomers, lo, hi); err != nil {
			return err
		}
		b.log("preload: %d of %d invoices", hi, n)
	}
	return nil
}

// tableSizes reads the sizes of invoices and of each of its indexes.
func (b *bench) tableSizes(ctx context.Context) error {
	p := b.pre
	if err := b.pool.QueryRow(ctx, `SELECT count(*), pg_table_size('invoices') / 1048576.0 FROM invoices`).Scan(&p.totalRows, &p.tableMiB); err != nil {
		return err
	}
	rs, err := b.pool.Query(ctx, `SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) / 1048576.0
		FROM pg_index WHERE indrelid = 'invoices'::regclass ORDER BY 1`)
	if err != nil {
		return err
	}
	defer rs.Close()
	p.indexMiB = map[string]float64{}
	for rs.Next() {
		var name string
		var mib float64
		if err := rs.Scan(&name, &mib); err != nil {
			return err
		}
		p.indexMiB[name] = mib
	}
	return rs.Err()
}

// indexesMiB is the sum of the index sizes.
func (p *preloadResult) indexesMiB() float64 {
	var sum float64
	for _, v := range p.indexMiB {
		sum += v
	}
	return sum
}

// report prints the preloaded passes against the empty-table ones, and the sizes.
func (b *bench) reportPreloaded(stdout io.Writer) {
	p := b.pre
	if p == nil {
		return
	}
	perM := float64(p.totalRows) / 1e6
	fmt.Fprintf(stdout, "\nPreloaded: %d invoices over %d customers loaded in %.0f s (untimed, SQL on the server), then:\n", p.rows, preloadCustomers, p.load.Seconds())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pass\trows/s empty\trows/s preloaded\tx empty\ttarget")
	for _, pass := range []string{"insert", "unchanged", "update"} {
		empty, full := b.rate("e2e", pass), b.rate("e2e@preload", pass)
		fmt.Fprintf(tw, "e2e %s\t%.0f\t%.0f\t%.2f\t>= 0.75: %s\n", pass, empty, full, full/empty, verdict(full >= 0.75*empty))
	}
	if b.recalc != nil && p.drain != nil {
		empty, full := b.recalc.rate(), p.drain.rate()
		fmt.Fprintf(tw, "recalc drain (customers/s)\t%.0f\t%.0f\t%.2f\t-\n", empty, full, full/empty)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "invoices: %d rows; table %.0f MiB (%.1f MiB per million rows); indexes %.0f MiB (%.1f per million):",
		p.totalRows, p.tableMiB, p.tableMiB/perM, p.indexesMiB(), p.indexesMiB()/perM)
	for _, name := range slices.Sorted(maps.Keys(p.indexMiB)) {
		fmt.Fprintf(stdout, " %s %.1f;", name, p.indexMiB[name]/perM)
	}
	fmt.Fprintln(stdout)
}
