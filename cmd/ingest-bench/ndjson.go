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
	warm, err := b.warmUp(ctx, srv)
	if err != nil {
		return err
	}
	before, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body := b.ndjsonBody(ctx, n)
	start := time.Now()
	res, err := srv.post(ctx, "/data/invoices", "application/x-ndjson", body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	got, err := readNDJSONAnswer(res)
	if err != nil {
		return err
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
	return b.countInvoices(ctx, n+warm)
}

// warmUp sends the same small request as the RSS measurement before it reads its baseline, so
// the two baselines compare. It returns how many rows it wrote.
func (b *bench) warmUp(ctx context.Context, srv *server) (int, error) {
	warm := genInvoices(100, b.cfg.customers, 0)
	for i := range warm {
		warm[i].id = "warm_" + strconv.Itoa(i)
	}
	return len(warm), srv.postChecked(ctx, "/data/invoices", jsonArray(warm, "bench"), warm, len(warm), "inserted")
}

// ndjsonBody returns a body that generates rows 0..n-1 as they are read, so a stream of any
// length costs this process no memory; cancelling ctx ends it with ctx's error.
func (b *bench) ndjsonBody(ctx context.Context, n int) io.Reader {
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
	return pr
}

// readNDJSONAnswer checks the answer line by line, as the server sends it, and returns how many
// rows it answered.
func readNDJSONAnswer(res *http.Response) (int, error) {
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return 0, fmt.Errorf("NDJSON: %s: %s", res.Status, body)
	}
	in := bufio.NewReaderSize(res.Body, 64<<10)
	got := 0
	for {
		line, err := in.ReadSlice('\n')
		if len(line) > 0 {
			if cerr := checkNDJSONLine(line, got); cerr != nil {
				return got, cerr
			}
			got++
		}
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("NDJSON: reading the answer after %d rows: %w", got, err)
		}
	}
}

// checkNDJSONLine fails unless line answers row `index` as inserted. A stream that fails midway
// ends with an error line instead of a row's result.
func checkNDJSONLine(line []byte, index int) error {
	var r struct {
		rowResult
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("NDJSON answer line %d: %v: %.200s", index, err, line)
	}
	if r.Error != nil {
		return fmt.Errorf("NDJSON stream failed after %d rows: %s", index, r.Error)
	}
	if err := checkResult(r.rowResult, index, "inv_"+strconv.Itoa(index), "inserted"); err != nil {
		return fmt.Errorf("NDJSON: %w", err)
	}
	return nil
}

// ndjsonResult is the stream's figures: rows, time, and the server's peak RSS (MiB) after the
// warm-up and over the whole stream.
type ndjsonResult struct {
	rows         int
	dur          time.Duration
	before, peak float64
}
