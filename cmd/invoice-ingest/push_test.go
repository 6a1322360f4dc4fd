package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/client"
	"invoice-ingest/config"
	"invoice-ingest/models/dbtest"
)

// pushServer is the real API over the package's database with an account, its key, a data
// source "src" and customers cus_1..cus_3; front, when set, answers before the API does.
type pushServer struct {
	url, key string
	mu       sync.Mutex
	front    func(w http.ResponseWriter, r *http.Request) bool // true: answered here
	posts    map[string]int                                    // POSTs that reached the API, by path
}

func newPushServer(t *testing.T) *pushServer {
	t.Helper()
	db := dbtest.DB(t)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers = 0
	cfg.Limits = config.Limits{}
	h := (&api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	s := &pushServer{posts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		front := s.front
		s.mu.Unlock()
		if front != nil && front(w, r) {
			return
		}
		if r.Method == http.MethodPost {
			s.mu.Lock()
			s.posts[r.URL.Path]++
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, s.key, err = db.CreateAccount(context.Background(), t.Name())
	require.NoError(t, err)
	s.url = srv.URL
	c := client.New(s.url, s.key)
	_, err = c.EnsureDataSource(context.Background(), "src")
	require.NoError(t, err)
	res, err := client.UpsertTyped(context.Background(), c, client.Customers, []client.Customer{
		{ID: "cus_1", DataSource: "src"}, {ID: "cus_2", DataSource: "src"}, {ID: "cus_3", DataSource: "src"}}, client.BatchOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Count().Inserted)
	return s
}

func (s *pushServer) setFront(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.front = f
}

func (s *pushServer) postsTo(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts[path]
}

// pushRun is one run of a client command: its output, exit status and waits.
type pushRun struct {
	stdout, stderr string
	code           int
	waits          []time.Duration
}

// push runs the command line against s with hooks that never sleep; h may preset hooks.
func (s *pushServer) push(t *testing.T, ctx context.Context, h *clientHooks, args ...string) pushRun {
	t.Helper()
	return s.run(t, ctx, h, nil, args...)
}

// pushEnv runs a command with more environment variables.
func (s *pushServer) pushEnv(t *testing.T, vars map[string]string, args ...string) pushRun {
	t.Helper()
	return s.run(t, context.Background(), nil, vars, args...)
}

func (s *pushServer) run(t *testing.T, ctx context.Context, h *clientHooks, vars map[string]string, args ...string) pushRun {
	t.Helper()
	var out, errOut bytes.Buffer
	var run pushRun
	if h == nil {
		h = &clientHooks{}
	}
	var mu sync.Mutex
	h.now = fakeClock()
	h.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		run.waits = append(run.waits, d)
		return ctx.Err()
	}
	if h.stdin == nil {
		h.stdin = strings.NewReader("")
	}
	if h.ticks == nil {
		h.ticks = make(chan time.Time) // no tick: no progress line
	}
	lookup := s.lookup(vars)
	var stderr io.Writer = &errOut
	err := runCommand(ctx, args, env{lookup: lookup, stdout: &out, stderr: stderr, hooks: h})
	run.code = exitCode(err, &errOut)
	run.stdout, run.stderr = out.String(), errOut.String()
	return run
}

// lookup is the environment of a client of s, with vars.
func (s *pushServer) lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "INGEST_URL":
			return s.url, true
		case "INGEST_API_KEY":
			return s.key, true
		}
		v, ok := vars[k]
		return v, ok
	}
}

// fakeClock advances one second per reading, so durations and rates are exact.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func (r pushRun) summary(t *testing.T) summary {
	t.Helper()
	var s summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return s
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

const invoiceHeader = "id,customer_id,type,date,amount_cents,currency,start_date,end_date\n"

// invoiceCSV is n good invoice rows of cus_1.
func invoiceCSV(n int) string {
	var b strings.Builder
	b.WriteString(invoiceHeader)
	for i := range n {
		b.WriteString(strings.NewReplacer("N", string(rune('a'+i))).Replace("inv_N,cus_1,subscription,2024-07-01,9900,USD,2024-07-01,2024-08-01\n"))
	}
	return b.String()
}

// listInvoices reads the invoices of source src back.
func listInvoices(t *testing.T, s *pushServer) []map[string]any { return listInvoicesOf(t, s, "src") }

func listInvoicesOf(t *testing.T, s *pushServer, source string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, v := range getJSON(t, s, "/data/invoices?limit=1000&source="+source)["list"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// getJSON reads the result of a GET.
func getJSON(t *testing.T, s *pushServer, path string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		Result map[string]any `json:"result"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.Equal(t, http.StatusOK, res.StatusCode, path)
	return body.Result
}
