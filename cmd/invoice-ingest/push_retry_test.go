package main

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/client"
)

// TestPushRetries: every batch is answered 503, then 429 with Retry-After: 1, then by the API:
// each batch is written once (one import per batch), after the backoff's and Retry-After's waits.
func TestPushRetries(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	var mu sync.Mutex
	seen := map[string]int{}
	s.setFront(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/data/invoices" {
			return false
		}
		mu.Lock()
		key := r.Header.Get("Idempotency-Key")
		seen[key]++
		n := seen[key]
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	c := client.New(s.url, s.key)
	before, err := c.Imports(context.Background(), 1000)
	require.NoError(t, err)
	file := writeFile(t, "invoices.csv", invoiceCSV(6))
	r := s.push(t, context.Background(), nil, "push", "--entity", "invoices", "--source", "src", "--batch", "2", "--concurrency", "1", "--json", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 6, Inserted: 6}, r.summary(t).Counts)
	require.Len(t, seen, 3, "three batches, three keys")
	for k, n := range seen {
		require.Equal(t, 3, n, "key %s", k)
	}
	require.Equal(t, 3, s.postsTo("/data/invoices"), "each batch reached the API once")
	after, err := c.Imports(context.Background(), 1000)
	require.NoError(t, err)
	require.Len(t, after, len(before)+3, "one import per batch")
	for _, imp := range after[:3] {
		require.Equal(t, int64(2), imp.Inserted)
	}
	require.Len(t, r.waits, 6)
	for i := 0; i < 6; i += 2 {
		require.GreaterOrEqual(t, r.waits[i], 500*time.Millisecond, "backoff from 1 s with jitter")
		require.LessOrEqual(t, r.waits[i], time.Second)
		require.Equal(t, time.Second, r.waits[i+1], "Retry-After: 1")
	}
	require.Equal(t, 6, strings.Count(r.stderr, "retrying POST /data/invoices"))
}

// TestPushGivesUp: a batch the service keeps refusing with 5xx ends the run with status 3.
func TestPushGivesUp(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	s.setFront(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && r.URL.Path == "/data/invoices" {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	file := writeFile(t, "invoices.csv", invoiceCSV(2))
	r := s.push(t, context.Background(), nil, "push", "--entity", "invoices", "--source", "src", file)
	require.Equal(t, 3, r.code, r.stderr)
	require.Len(t, r.waits, 9, "10 attempts")
	require.Contains(t, r.stderr, "gave up")
}

// TestPushResume: the run is cancelled while its third batch is in flight; --resume sends the
// remaining batches only, and the final counts include the first run's.
func TestPushResume(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	s.setFront(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/data/invoices" {
			return false
		}
		if calls.Add(1) == 3 { // one batch at a time (--concurrency 1)
			_, _ = io.Copy(io.Discard, r.Body) // read it all, so the server notices the client leave
			cancel()                           // Ctrl-C while batch 3 is in flight
			<-r.Context().Done()
			return true
		}
		return false
	})
	file := writeFile(t, "invoices.csv", invoiceCSV(10))
	args := []string{"push", "--entity", "invoices", "--source", "src", "--batch", "2", "--concurrency", "1", "--json", file}
	r := s.push(t, ctx, nil, args...)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "run again with --resume")
	require.Equal(t, client.Counts{Rows: 4, Inserted: 4}, r.summary(t).Counts)
	require.Equal(t, 2, s.postsTo("/data/invoices"))
	require.FileExists(t, file+".push-state")

	s.setFront(nil)
	r = s.push(t, context.Background(), nil, append([]string{"push", "--resume"}, args[1:]...)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 10, Inserted: 10}, r.summary(t).Counts, "batches 1-2 from the state file, 3-5 sent")
	require.Equal(t, 5, s.postsTo("/data/invoices"), "only batches 3, 4 and 5 were sent again")
	require.NoFileExists(t, file+".push-state")
	require.Len(t, listInvoices(t, s), 10)

	// a state file of other options is refused, not misread
	require.NoError(t, os.WriteFile(file+".push-state", []byte(`{"run_id":"x","entity":"customers","batch":2}`+"\n"), 0o644))
	r = s.push(t, context.Background(), nil, append([]string{"push", "--resume"}, args[1:]...)...)
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "other options")
}

// TestPushFormats: NDJSON, a JSON array, gzip and standard input; rows that are not JSON are
// refused locally and kept in the NDJSON errors file as read.
func TestPushFormats(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	ndjson := `{"id":"p1","name":"Basic"}
not json
{"id":"p2","name":"Pro","interval_unit":"year","data_source":"src"}

{"id":"p3"}
`
	dir := t.TempDir()
	gz := filepath.Join(dir, "plans.jsonl.gz")
	f, err := os.Create(gz)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write([]byte(ndjson))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	errs := filepath.Join(dir, "errors.ndjson")
	r := s.push(t, context.Background(), nil, "push", "--entity", "plans", "--source", "src", "--json", "--errors", errs, gz)
	require.Equal(t, 1, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 4, Inserted: 2, Errors: 2}, r.summary(t).Counts)
	lines := strings.Split(strings.TrimSpace(readFile(t, errs)), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasPrefix(lines[0], `{"import_error":"Row is not JSON: `), lines[0])
	require.True(t, strings.HasSuffix(lines[0], `,"row":"not json"}`), lines[0])
	require.Equal(t, `{"import_error":"Missing plan name","errors":[{"field":"name","code":"required","message":"Missing plan name"}],"id":"p3"}`, lines[1])

	array := writeFile(t, "plans.json", `[{"id":"p1","name":"Basic"}, {"id":"p4","name":"Team"}]`)
	r = s.push(t, context.Background(), nil, "push", "--entity", "plans", "--source", "src", "--json", array)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 2, Inserted: 1, Unchanged: 1}, r.summary(t).Counts)

	h := &clientHooks{stdin: strings.NewReader(`{"id":"p4","name":"Team 2"}` + "\n")}
	r = s.push(t, context.Background(), h, "push", "--entity", "plans", "--source", "src", "--json", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 1, Updated: 1}, r.summary(t).Counts)
}

func TestPushUsage(t *testing.T) {
	t.Parallel()
	s := &pushServer{url: "http://127.0.0.1:1", key: "ik_x"}
	for _, args := range [][]string{
		{"push", "x.csv"},
		{"push", "--entity", "invoices"},
		{"push", "--entity", "invoices", "--batch", "0", "x.csv"},
		{"push", "--entity", "invoices", "--amount-unit", "cents", "x.csv"},
		{"push", "--entity", "invoices", "--resume", "-"},
	} {
		r := s.push(t, context.Background(), nil, args...)
		require.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
}
