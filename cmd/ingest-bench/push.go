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
// against the e2e server, timed from start to exit, and records the client's peak RSS.
func (b *bench) runPush(ctx context.Context, srv *server, dir string) error {
	n := b.cfg.pushRows
	if n == 0 {
		return nil
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
		b.log("  push %s: %d in %.3f s = %.0f/s (e2e insert %.0f/s), client peak RSS %.1f MiB", format, r.rows,
			r.dur.Seconds(), float64(r.rows)/r.dur.Seconds(), b.rate("e2e", "insert"), r.peakMiB)
		if err := os.Remove(path); err != nil {
			return err
		}
		if err := b.countInvoices(ctx, n); err != nil {
			return err
		}
	}
	return nil
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

// reportPush prints each push next to the e2e insert pass of the same run.
func (b *bench) reportPush(stdout io.Writer) {
	e2e := b.rate("e2e", "insert")
	for _, p := range b.pushes {
		rate := float64(p.rows) / p.dur.Seconds()
		fmt.Fprintf(stdout, "push: %d-row %s file: %.3f s, %.0f rows/s (%.2f x e2e insert, target >= 0.8: %s); client peak RSS %.1f MiB (target < 64 MiB: %s)\n",
			p.rows, p.format, p.dur.Seconds(), rate, rate/e2e, verdict(rate/e2e >= 0.8), p.peakMiB, verdict(p.peakMiB < 64))
	}
}
