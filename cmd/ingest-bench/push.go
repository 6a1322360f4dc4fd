package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// pushResult is one `invoice-ingest push` of a generated file.
type pushResult struct {
	format  string
	rows    int
	dur     time.Duration
	peakMiB float64 // the push process's peak RSS (VmHWM, sampled every 20 ms while it runs)
}

// runPush writes -push-rows invoices as an NDJSON file and as a CSV file, then pushes each into
// an empty invoices table with the real binary (`push --batch -batch --concurrency -clients`)
// against the e2e server, timed from start to exit, and records the client's peak RSS. First
// the same rows go in through the e2e insert pass's own client (method e2e@push), so that push
// is also compared with what the server does for as many rows into a table that grows as far.
func (b *bench) runPush(ctx context.Context, srv *server, dir string) error {
	n := b.cfg.pushRows
	if n == 0 {
		return nil
	}
	stop, err := b.autoAnalyze(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := b.runPlainInsert(ctx, srv, n, "e2e@push"); err != nil {
		return fmt.Errorf("e2e@push: %w", err)
	}
	for _, format := range []string{"ndjson", "csv"} {
		path := filepath.Join(dir, "push."+format)
		if err := b.writePushFile(path, format, n); err != nil {
			return err
		}
		if err := b.reset(ctx); err != nil {
			return err
		}
		b.log("push: %s file of %d rows, %d rows a batch, concurrency %d", format, n, b.cfg.batch, b.cfg.clients)
		r, err := b.pushFile(ctx, srv, path)
		if err != nil {
			return fmt.Errorf("push %s: %w", format, err)
		}
		r.format = format
		b.pushes = append(b.pushes, r)
		b.log("  push %s: %d in %.3f s = %.0f/s (e2e insert %.0f/s, e2e@push %.0f/s), client peak RSS %.1f MiB", format, r.rows,
			r.dur.Seconds(), float64(r.rows)/r.dur.Seconds(), b.rate("e2e", "insert"), b.rate("e2e@push", "insert"), r.peakMiB)
		if err := os.Remove(path); err != nil {
			return err
		}
		if err := b.countInvoices(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// autoAnalyze stands in for autovacuum's ANALYZE while the push step grows invoices from empty
// to -push-rows, when the server runs without autovacuum: it analyzes invoices whenever
// autovacuum would (more than 50 + 10% of its rows changed since the last ANALYZE; checked every
// second). The service's cached statement plans are made again after each ANALYZE; without one,
// they stay as made for the empty table that reset leaves, and a pass slows down as the table
// grows (README Performance). stop ends it.
func (b *bench) autoAnalyze(ctx context.Context) (stop func(), err error) {
	var on string
	if err := b.pool.QueryRow(ctx, "SHOW autovacuum").Scan(&on); err != nil || on == "on" {
		return func() {}, err
	}
	b.log("push: autovacuum is off on this server; invoices is analyzed as autovacuum would")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var due bool
			err := b.pool.QueryRow(ctx, `SELECT n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
				FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'invoices'`).Scan(&due)
			if err == nil && due {
				_, err = b.pool.Exec(ctx, "ANALYZE invoices")
			}
			if err != nil && ctx.Err() == nil {
				b.log("push: analyze: %v", err)
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// runPlainInsert posts rows 0..n-1 (the push files' rows, and the e2e passes' first n) into an
// empty table as the e2e insert pass does: -batch-row JSON arrays, all encoded before the clock
// starts, from -clients goroutines, every answer checked. It records the pass as method's insert.
func (b *bench) runPlainInsert(ctx context.Context, srv *server, n int, method string) (result, error) {
	if err := b.reset(ctx); err != nil {
		return result{}, err
	}
	parts := batches(n, b.cfg.batch)
	bodies := make([][]byte, len(parts))
	rows := make([]invoice, 0, b.cfg.batch)
	for i, p := range parts {
		rows = rows[:0]
		for j := p[0]; j < p[1]; j++ {
			rows = append(rows, genInvoice(j, b.cfg.customers, 0))
		}
		bodies[i] = jsonArray(rows, "bench")
	}
	b.log("%s: insert pass, %d rows in %d requests", method, n, len(parts))
	d, cpu, err := b.timePass(func() error {
		return parallel(ctx, b.cfg.clients, len(parts), func(ctx context.Context, i int) error {
			return srv.postChecked(ctx, "/data/invoices", bodies[i], nil, parts[i][1]-parts[i][0], "inserted")
		})
	})
	if err != nil {
		return result{}, err
	}
	r := result{method: method, pass: "insert", rows: n, dur: d, cpu: cpu}
	b.add(r)
	return r, b.countInvoices(ctx, n)
}

// writePushFile generates rows 0..n-1 into path, untimed.
func (b *bench) writePushFile(path, format string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if format == "csv" {
		_, _ = w.WriteString("id,customer_id,data_source,type,date,amount_cents,currency,start_date,end_date,plan_id,subscription_id,quantity,discount\n")
	}
	var line []byte
	for i := range n {
		inv := genInvoice(i, b.cfg.customers, 0)
		if format == "csv" {
			line = appendCSV(line[:0], &inv, "bench")
		} else {
			line = appendJSON(line[:0], &inv, "bench")
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// appendCSV appends the row as a CSV record of writePushFile's header (no field needs quoting).
func appendCSV(b []byte, v *invoice, source string) []byte {
	b = append(append(append(append(b, v.id...), ','), v.customer...), ',')
	b = append(append(append(append(b, source...), ','), v.typ...), ',')
	b = append(v.date.AppendFormat(b, time.RFC3339), ',')
	b = append(strconv.AppendInt(b, v.amount, 10), ',')
	b = append(append(b, v.currency...), ',')
	b = append(v.start.AppendFormat(b, time.RFC3339), ',')
	b = append(v.end.AppendFormat(b, time.RFC3339), ',')
	b = append(append(append(append(b, v.plan...), ','), v.sub...), ',')
	if v.quantity != 0 {
		b = strconv.AppendInt(b, v.quantity, 10)
	}
	b = append(b, ',')
	if v.discount != 0 {
		b = strconv.AppendInt(b, v.discount, 10)
	}
	return b
}

// pushFile runs the binary's push and checks its --json summary.
func (b *bench) pushFile(ctx context.Context, srv *server, path string) (pushResult, error) {
	cmd := exec.CommandContext(ctx, b.bin, "push", "--entity", "invoices", "--batch", strconv.Itoa(b.cfg.batch),
		"--concurrency", strconv.Itoa(b.cfg.clients), "--json", path)
	cmd.Env = append(os.Environ(), "INGEST_URL="+srv.base, "INGEST_API_KEY="+srv.key)
	cmd.Stderr = io.Discard // a progress line every 10 s, and the summary
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return pushResult{}, err
	}
	// VmHWM of the running child, sampled until it exits: getrusage's ru_maxrss would count the
	// memory of this process, which the child shares until its exec.
	peak, stop := 0.0, make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := vmHWM(cmd.Process.Pid); err == nil && v > peak {
				peak = v
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	d := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		return pushResult{}, fmt.Errorf("%v: %s", err, out.String())
	}
	var sum struct{ Rows, Inserted int }
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return pushResult{}, fmt.Errorf("summary %q: %w", out.String(), err)
	}
	if sum.Rows != b.cfg.pushRows || sum.Inserted != b.cfg.pushRows {
		return pushResult{}, fmt.Errorf("summary %s: want %d rows inserted", out.String(), b.cfg.pushRows)
	}
	return pushResult{rows: sum.Rows, dur: d, peakMiB: peak}, nil
}

// reportPush prints each push next to the e2e insert pass of the same run (-rows rows, the
// issue's yardstick) and next to the same rows posted by that pass's client (e2e@push).
func (b *bench) reportPush(stdout io.Writer) {
	e2e, plain := b.rate("e2e", "insert"), b.rate("e2e@push", "insert")
	for _, p := range b.pushes {
		rate := float64(p.rows) / p.dur.Seconds()
		fmt.Fprintf(stdout, "push: %d-row %s file: %.3f s, %.0f rows/s (%.2f x e2e insert, target >= 0.8: %s; %.2f x e2e@push, the same rows); client peak RSS %.1f MiB (target < 64 MiB: %s)\n",
			p.rows, p.format, p.dur.Seconds(), rate, rate/e2e, verdict(rate/e2e >= 0.8), rate/plain, p.peakMiB, verdict(p.peakMiB < 64))
	}
}
