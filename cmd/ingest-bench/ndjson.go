package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// runNDJSON streams -ndjson-rows rows as ONE application/x-ndjson request to a fresh server. The
// body is generated on the fly into a pipe, never held in memory, and the answer is read line by
// line while the body is still being sent (the server answers each 1,000-row chunk as it
// commits). It reports rows/s and the server's peak RSS over the whole stream.
func (b *bench) runNDJSON(ctx context.Context) error {
	n := b.cfg.ndjsonRows
	if n == 0 {
		return nil
	}
	if err := b.reset(ctx); err != nil {
		return err
	}
	b.log("NDJSON: fresh server, one stream of %d rows", n)
	srv, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	// The same small warm-up as the RSS measurement, so the baseline figures compare.
	warm := genInvoices(100, b.cfg.customers, 0)
	for i := range warm {
		warm[i].id = "warm_" + strconv.Itoa(i)
	}
	if err := srv.postChecked(ctx, "/data/invoices", jsonArray(warm, "bench"), warm, len(warm), "inserted"); err != nil {
		return err
	}
	before, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		var line []byte
		for i := 0; i < n && ctx.Err() == nil; i++ {
			inv := genInvoice(i, b.cfg.customers, 0)
			line = append(appendJSON(line[:0], &inv, "bench"), '\n')
			if _, err := w.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if err := w.Flush(); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(ctx.Err())
	}()

	start := time.Now()
	res, err := srv.post(ctx, "/data/invoices", "application/x-ndjson", pr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return fmt.Errorf("NDJSON: %s: %s", res.Status, body)
	}
	in := bufio.NewReaderSize(res.Body, 64<<10)
	got := 0
	for {
		line, err := in.ReadSlice('\n')
		if len(line) > 0 {
			var r struct {
				rowResult
				Error json.RawMessage `json:"error"`
			}
			if uerr := json.Unmarshal(line, &r); uerr != nil {
				return fmt.Errorf("NDJSON answer line %d: %v: %.200s", got, uerr, line)
			}
			if r.Error != nil {
				return fmt.Errorf("NDJSON stream failed after %d rows: %s", got, r.Error)
			}
			if cerr := checkResult(r.rowResult, got, "inv_"+strconv.Itoa(got), "inserted"); cerr != nil {
				return fmt.Errorf("NDJSON: %w", cerr)
			}
			got++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("NDJSON: reading the answer after %d rows: %w", got, err)
		}
	}
	d := time.Since(start)
	if got != n {
		return fmt.Errorf("NDJSON: %d results for %d rows", got, n)
	}
	peak, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}
	b.ndjson = &ndjsonResult{rows: n, dur: d, before: before, peak: peak}
	return b.countInvoices(ctx, n+len(warm))
}

// ndjsonResult is the stream's figures: rows, time, and the server's peak RSS (MiB) after the
// warm-up and over the whole stream.
type ndjsonResult struct {
	rows         int
	dur          time.Duration
	before, peak float64
}
