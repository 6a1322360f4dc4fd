package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
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
	if err := b.preloadedRounds(ctx, srv, rows, changed); err != nil {
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

// preloadedRounds runs the e2e passes -rounds times on the preloaded table, as the empty table's
// run, so that both sides of each ratio are a median round: one pass of a few seconds measured
// the machine's mood as much as the table's size (one run's single preloaded insert cost the
// server and PostgreSQL each about a quarter more CPU per row than the empty table's median).
// Round r > 1 writes the rows under ids of its own (suffix "_r<r>"), so each insert inserts; the
// table grows by -rows per round, 1% of 10M.
func (b *bench) preloadedRounds(ctx context.Context, srv *server, rows, changed []invoice) error {
	defer func() { b.round = 0 }()
	for r := 1; r <= b.cfg.rounds; r++ {
		b.round = r
		ins, upd := rows, changed
		if r > 1 {
			suffix := "_r" + strconv.Itoa(r)
			ins, upd = renamed(rows, suffix), renamed(changed, suffix)
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
		if err := b.e2ePasses(ctx, srv, "e2e@preload", ins, upd); err != nil {
			return err
		}
	}
	return nil
}

// renamed returns a copy of rows whose ids end in suffix.
func renamed(rows []invoice, suffix string) []invoice {
	out := slices.Clone(rows)
	for i := range out {
		out[i].id += suffix
	}
	return out
}

// preload inserts the customers, then the invoices, a slice per statement on two connections,
// into invoices stripped of its primary key, indexes and foreign keys, which it then rebuilds
// from their own definitions. Each index is then built once from sorted rows and each foreign key
// checked by one join, instead of millions of random index insertions (the indexes outgrow
// shared_buffers) and per-row checks: the load is untimed, but 10M rows must take minutes, not
// hours. The rebuilt indexes are packed as CREATE INDEX packs them (as after a REINDEX), where
// rows written one by one leave their pages split.
func (b *bench) preload(ctx context.Context, n int) error {
	acc, src := [16]byte(b.account), [16]byte(b.source)
	b.log("preload: %d customers, then %d invoices (untimed)", preloadCustomers, n)
	if _, err := b.pool.Exec(ctx, preloadSQL.customers, acc, src, preloadCustomers); err != nil {
		return err
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	defs, err := dropInvoiceIndexes(ctx, conn.Conn())
	if err != nil {
		return err
	}
	parts := (n + preloadSlice - 1) / preloadSlice
	var done atomic.Int64
	err = parallel(ctx, 2, parts, func(ctx context.Context, i int) error {
		lo, hi := i*preloadSlice, min((i+1)*preloadSlice, n)
		if _, err := b.pool.Exec(ctx, preloadSQL.invoices, acc, src, preloadCustomers, lo, hi); err != nil {
			return err
		}
		b.log("preload: %d of %d invoices", done.Add(int64(hi-lo)), n)
		return nil
	})
	if err != nil {
		return err
	}
	b.log("preload: rebuilding the primary key, %d indexes and %d foreign keys", len(defs.indexes), len(defs.foreign))
	return defs.rebuild(ctx, conn.Conn())
}

// invoiceDefs are the definitions of what preload drops from invoices.
type invoiceDefs struct {
	primary [2]string   // name, definition
	foreign [][2]string // name, definition
	indexes [][2]string // name, CREATE INDEX statement: the indexes no constraint owns
}

// dropInvoiceIndexes reads the definitions of invoices' primary key, foreign keys and other
// indexes, then drops them all.
func dropInvoiceIndexes(ctx context.Context, conn *pgx.Conn) (invoiceDefs, error) {
	var d invoiceDefs
	rs, err := conn.Query(ctx, `SELECT contype::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'invoices'::regclass AND contype IN ('p', 'f') ORDER BY conname`)
	if err != nil {
		return d, err
	}
	for rs.Next() {
		var typ string
		var def [2]string
		if err := rs.Scan(&typ, &def[0], &def[1]); err != nil {
			return d, err
		}
		if typ == "p" {
			d.primary = def
		} else {
			d.foreign = append(d.foreign, def)
		}
	}
	if rs.Err() != nil {
		return d, rs.Err()
	}
	rs, err = conn.Query(ctx, `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
		WHERE indrelid = 'invoices'::regclass AND NOT EXISTS (SELECT FROM pg_constraint c
			WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid) ORDER BY 1`)
	if err != nil {
		return d, err
	}
	d.indexes, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) ([2]string, error) {
		var def [2]string
		return def, r.Scan(&def[0], &def[1])
	})
	if err != nil {
		return d, err
	}
	drops := []string{}
	for _, f := range d.foreign {
		drops = append(drops, "ALTER TABLE invoices DROP CONSTRAINT "+pgx.Identifier{f[0]}.Sanitize())
	}
	for _, ix := range d.indexes {
		drops = append(drops, "DROP INDEX "+ix[0])
	}
	drops = append(drops, "ALTER TABLE invoices DROP CONSTRAINT "+pgx.Identifier{d.primary[0]}.Sanitize())
	return d, execAll(ctx, conn, drops)
}

// rebuild creates again what dropInvoiceIndexes dropped, with memory enough to sort in one pass,
// and analyzes the table.
func (d invoiceDefs) rebuild(ctx context.Context, conn *pgx.Conn) error {
	stmts := []string{"SET maintenance_work_mem = '512MB'",
		"ALTER TABLE invoices ADD CONSTRAINT " + pgx.Identifier{d.primary[0]}.Sanitize() + " " + d.primary[1]}
	for _, ix := range d.indexes {
		stmts = append(stmts, ix[1])
	}
	for _, f := range d.foreign {
		stmts = append(stmts, "ALTER TABLE invoices ADD CONSTRAINT "+pgx.Identifier{f[0]}.Sanitize()+" "+f[1])
	}
	return execAll(ctx, conn, append(stmts, "RESET maintenance_work_mem", "ANALYZE invoices"))
}

func execAll(ctx context.Context, conn *pgx.Conn, stmts []string) error {
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
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
	fmt.Fprintf(stdout, "\nPreloaded: %d invoices over %d customers loaded in %.0f s (untimed, SQL on the server), then %d rounds (rates: the median round):\n",
		p.rows, preloadCustomers, p.load.Seconds(), b.cfg.rounds)
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
	for round := 1; round <= b.cfg.rounds && b.cfg.rounds > 1; round++ {
		fmt.Fprintf(stdout, "  preloaded round %d, rows/s:", round)
		for _, pass := range []string{"insert", "unchanged", "update"} {
			if r := b.inRound("e2e@preload", pass, round); r != nil {
				fmt.Fprintf(stdout, " %s %.0f;", pass, r.rate())
			}
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "invoices: %d rows; table %.0f MiB (%.1f MiB per million rows); indexes %.0f MiB (%.1f per million):",
		p.totalRows, p.tableMiB, p.tableMiB/perM, p.indexesMiB(), p.indexesMiB()/perM)
	for _, name := range slices.Sorted(maps.Keys(p.indexMiB)) {
		fmt.Fprintf(stdout, " %s %.1f;", name, p.indexMiB[name]/perM)
	}
	fmt.Fprintln(stdout)
}
