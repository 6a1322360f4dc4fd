package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// runRSS measures the server's peak RSS while n hostile streams run at once, for each n of
// -streams, each on a fresh server (VmHWM cannot be reset). Each stream comes from an account of
// its own: MAX_STREAMS_PER_ACCOUNT (4 by default) refuses the fifth stream of one account.
func (t *tool) runRSS(ctx context.Context) error {
	url, keys, drop, err := t.scratch(ctx, slices.Max(t.cfg.streams))
	if err != nil {
		return err
	}
	defer drop()
	for run, n := range t.cfg.streams {
		if err := t.rssOnce(ctx, url, keys[:n], run); err != nil {
			return err
		}
	}
	return nil
}

// rssOnce is one fresh server, warmed up, then len(keys) streams at once.
func (t *tool) rssOnce(ctx context.Context, url string, keys []string, run int) error {
	n := len(keys)
	t.log("rss: fresh server (RECALC_WORKERS=0), %d stream(s) of %d lines of %d bytes", n, t.cfg.lines, t.cfg.lineBytes)
	srv, err := t.startServe(ctx, url, "RECALC_WORKERS=0")
	if err != nil {
		return err
	}
	defer srv.kill()
	for i, key := range keys { // warm-up: every account's source, one small write and stream
		if err := createSource(ctx, srv.base, key); err != nil {
			return err
		}
		if a := do(ctx, newClient(nil, time.Minute), "POST", srv.base+"/data/customers", key, "application/json",
			customersBody(fmt.Sprintf("warm%d_%d_", run, i), 10, "warm")); a.status != http.StatusOK {
			return fmt.Errorf("warm-up write: %s", a.label())
		}
	}
	if r := hostileStream(ctx, srv.base, keys[0], fmt.Sprintf("w%d_", run), 3, 1000); r.inserted != 3 {
		return fmt.Errorf("warm-up stream: %s", r)
	}
	idle, err := procStatus(srv.pid(), "VmHWM")
	if err != nil {
		return err
	}
	results := make([]streamResult, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			results[i] = hostileStream(ctx, srv.base, key, fmt.Sprintf("h%d_%d_", run, i), t.cfg.lines, t.cfg.lineBytes)
		})
	}
	wg.Wait()
	dur := time.Since(start)
	peak, err := procStatus(srv.pid(), "VmHWM")
	if err != nil {
		return err
	}
	code, _ := srv.terminate()
	return t.rssReport(n, idle, peak, dur, code, results)
}

func (t *tool) rssReport(n int, idle, peak float64, dur time.Duration, code int, results []streamResult) error {
	rows, sent := 0, int64(0)
	var bad []string
	for i, r := range results {
		rows += r.inserted
		sent += r.sent
		if r.status != http.StatusOK || r.inserted != t.cfg.lines || r.errLine != "" {
			bad = append(bad, fmt.Sprintf("stream %d: %s", i, r))
		}
	}
	t.figure(fmt.Sprintf("rss_%d_streams_peak_mib", n), round1(peak), "rss: %d hostile stream(s) at once: peak RSS %.0f MiB (idle after warm-up %.0f MiB, +%.0f MiB); "+
		"%d rows inserted of %d, %.0f MiB sent in %.1f s (%.0f MiB/s); exit code %d",
		n, peak, idle, peak-idle, rows, n*t.cfg.lines, float64(sent)/(1<<20), dur.Seconds(), float64(sent)/(1<<20)/dur.Seconds(), code)
	t.figures[fmt.Sprintf("rss_%d_streams_idle_mib", n)] = round1(idle)
	if len(bad) > 0 {
		t.figure(fmt.Sprintf("rss_%d_streams_failures", n), len(bad), "rss: NOT AS EXPECTED: %s", strings.Join(bad, "; "))
	}
	return nil
}

// streamResult is what one NDJSON stream was answered.
type streamResult struct {
	status   int
	inserted int    // rows answered inserted
	other    int    // rows answered anything else
	errLine  string // the stream's {"error": ...} line, if any
	sent     int64
	err      error
}

func (r streamResult) String() string {
	return fmt.Sprintf("status %d, %d inserted, %d other, error line %q, err %v", r.status, r.inserted, r.other, r.errLine, r.err)
}

// hostileStream sends lines customer rows, each carrying about lineBytes of unknown fields, as
// one NDJSON request, and reads the answer as it comes.
func hostileStream(ctx context.Context, base, key, prefix string, lines, lineBytes int) streamResult {
	pr, pw := io.Pipe()
	sent := make(chan int64, 1)
	go func() { n, _ := writeHostile(pw, prefix, lines, lineBytes); sent <- n }()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/data/customers", pr)
	if err != nil {
		return streamResult{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := newClient(nil, 0).Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return streamResult{err: err}
	}
	defer resp.Body.Close()
	r := readStream(resp.Body, nil)
	pr.CloseWithError(io.ErrClosedPipe) // the writer stops if the server stopped reading
	r.status, r.sent = resp.StatusCode, <-sent
	return r
}

// writeHostile writes the stream and closes w; it returns the bytes written.
func writeHostile(w *io.PipeWriter, prefix string, lines, lineBytes int) (int64, error) {
	pad := hostilePad(lineBytes - 100)
	bw := bufio.NewWriterSize(w, 256<<10)
	var n int64
	for i := range lines {
		head := fmt.Sprintf(`{"id":"%s%d","data_source":"stripe","name":"Hostile"`, prefix, i)
		for _, part := range [][]byte{[]byte(head), pad, []byte("}\n")} {
			m, err := bw.Write(part)
			n += int64(m)
			if err != nil {
				w.CloseWithError(err)
				return n, err
			}
		}
	}
	err := bw.Flush()
	w.CloseWithError(err)
	return n, err
}

// hostilePad is about size bytes of unknown fields: `,"x_00":"aaa…"` of 64 KiB each.
func hostilePad(size int) []byte {
	var b []byte
	for f := 0; len(b) < size; f++ {
		v := min(64<<10, size-len(b)-12)
		if v < 1 {
			break
		}
		b = fmt.Appendf(b, `,"x_%02d":"%s"`, f, strings.Repeat("a", v))
	}
	return b
}

// readStream reads an NDJSON answer line by line, calling onLine (when non-nil) with each row
// count so far; it counts the rows by status and keeps the error line.
func readStream(body io.Reader, onLine func(rows int)) streamResult {
	var r streamResult
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var line struct {
			Status string          `json:"import_status"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			r.err = fmt.Errorf("answer line %d is not JSON: %.200s", r.inserted+r.other, sc.Bytes())
			return r
		}
		switch {
		case line.Error != nil:
			r.errLine = string(line.Error)
		case line.Status == "inserted":
			r.inserted++
		default:
			r.other++
		}
		if onLine != nil {
			onLine(r.inserted + r.other)
		}
	}
	r.err = sc.Err()
	return r
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
