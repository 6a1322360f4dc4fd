package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// served is a serve command running in the test, on its own address.
type served struct {
	base string
	addr string
	key  string
	stop context.CancelFunc // SIGTERM
	done chan error         // what the command returned
}

// startServe runs serve on the database at url with the environment env, and returns once it
// answers; it creates an account with a data source "stripe".
func startServe(t *testing.T, url string, env map[string]string, hooks *shutdownHooks) *served {
	t.Helper()
	out, err := cli(t, url, "accounts", "create", "--name", "shutdown")
	require.NoError(t, err)
	var acc struct {
		APIKey string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &acc))
	vars := map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error", "METRICS_ADDR": "", "SHUTDOWN_DRAIN": "0"}
	for k, v := range env {
		vars[k] = v
	}
	s := &served{key: acc.APIKey}
	onFreeAddrs(t, 1, func(addrs []string) <-chan error {
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		s.addr, s.base, s.stop, s.done = addrs[0], "http://"+addrs[0], stop, make(chan error, 1)
		o := serveOptions{withHTTP: true, addr: s.addr, stdout: io.Discard, stderr: io.Discard, hooks: hooks,
			lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
		go func() { s.done <- runService(ctx, o) }()
		return s.done
	}, func(addrs []string) bool { return healthy("http://" + addrs[0]) })
	require.Equal(t, http.StatusCreated, s.post(t, http.DefaultClient, "/data/data_sources", `{"name": "stripe"}`).StatusCode)
	return s
}

// healthy reports whether the service at base answers /healthz with 200.
func healthy(base string) bool {
	res, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// post sends a JSON body and returns the answer, its body read.
func (s *served) post(t *testing.T, client *http.Client, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

// exited waits for the command's end: a clean stop, within SPEC 6's 30 s, and no listener left.
func (s *served) exited(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.done:
		require.NoError(t, err, "a clean stop: exit 0")
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s")
	}
	_, err := net.Dial("tcp", s.addr)
	require.Error(t, err, "no longer listening")
}

// SIGTERM during an NDJSON stream: the stream ends at its chunk boundary with a resumable error
// line (its status already 200), the rows answered are stored, workers release their claims,
// and serve exits 0.
func TestServeStopsGracefully(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	s := startServe(t, url, nil, nil)
	require.Equal(t, http.StatusOK, s.post(t, http.DefaultClient, "/data/customers", `{"id": "cus_1", "data_source": "stripe"}`).StatusCode)

	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { // one full chunk, then more rows than the server reads before it stops
		for i := range 1500 {
			if _, err := fmt.Fprintf(pw, `{"id": "inv%d", "customer_id": "cus_1", "data_source": "stripe", "type": "one-time", "date": "2024-07-03", "amount_cents": %d, "currency": "usd", "start_date": "2024-07-03", "end_date": "2024-07-03"}`+"\n", i, i); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequest("POST", s.base+"/data/invoices", pr)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	for i := range 1000 { // the first chunk is committed and answered
		require.True(t, sc.Scan(), "line %d", i)
		require.Contains(t, sc.Text(), `"import_status":"inserted"`)
	}

	s.stop()
	require.True(t, sc.Scan(), "the stream's last line")
	require.JSONEq(t, `{"error": {"type": "about:blank", "title": "Service Unavailable", "status": 503, "code": "unavailable",
		"detail": "The server is shutting down; re-send the rows after the last answered one."}}`, sc.Text())
	require.False(t, sc.Scan(), "nothing after the error line")
	s.exited(t)

	var stored, claimed int
	require.NoError(t, serverQuery(t, url, `SELECT count(*) FROM invoices`).Scan(&stored))
	require.Equal(t, 1000, stored, "the rows answered, and only they")
	require.NoError(t, serverQuery(t, url, `SELECT count(*) FROM recalc_queue WHERE locked_by IS NOT NULL`).Scan(&claimed))
	require.Zero(t, claimed, "claims released")
}

// SIGTERM with a JSON request in flight and more arriving: during the drain /readyz answers 503
// and every request is answered (then its connection closes, an idle one included); the request
// in flight when Shutdown begins completes 200; serve exits 0.
func TestServeDrainsThenShutsDown(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	hooks := &shutdownHooks{draining: make(chan struct{}), endDrain: make(chan struct{}), shutdown: make(chan struct{})}
	s := startServe(t, url, map[string]string{"SHUTDOWN_DRAIN": "10s"}, hooks)
	client := &http.Client{Transport: &http.Transport{}} // keeps its connections alive
	res, err := client.Get(s.base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.False(t, res.Close, "a connection kept alive before the stop")

	// A JSON request in flight: it waits on a lock another session holds.
	lock, err := pgxConnect(url)
	require.NoError(t, err)
	defer lock.Close(context.Background())
	tx, err := lock.Begin(context.Background())
	require.NoError(t, err)
	_, err = tx.Exec(context.Background(), `LOCK TABLE customers IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	inFlight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.base+"/data/customers", strings.NewReader(`{"id": "in_flight", "data_source": "stripe"}`))
		req.Header.Set("Authorization", "Bearer "+s.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- 0
			return
		}
		res.Body.Close()
		inFlight <- res.StatusCode
	}()
	watch, err := pgxConnect(url)
	require.NoError(t, err)
	defer watch.Close(context.Background())
	require.Eventually(t, func() bool {
		var waiting int
		err := watch.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting)
		return err == nil && waiting > 0
	}, 10*time.Second, 10*time.Millisecond, "the request waits on the lock")

	s.stop()
	<-hooks.draining
	res, err = client.Get(s.base + "/readyz") // on the connection kept alive
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.NotEmpty(t, res.Header.Get("Retry-After"))
	require.True(t, res.Close, "answers close their connection during the drain")
	for i := range 5 {
		res := s.post(t, client, "/data/plans", fmt.Sprintf(`{"id": "plan_%d", "data_source": "stripe", "name": "Pro"}`, i))
		require.Equal(t, http.StatusOK, res.StatusCode, "answered during the drain")
		require.True(t, res.Close)
	}

	close(hooks.endDrain)
	<-hooks.shutdown
	require.NoError(t, tx.Rollback(context.Background()))
	require.Equal(t, http.StatusOK, <-inFlight, "the request in flight finishes")
	s.exited(t)
}

// SIGTERM with the database down: the shutdown still goes as designed and serve exits 0.
func TestServeStopsWithDatabaseDown(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	px := newTCPProxy(t, url)
	s := startServe(t, px.url, map[string]string{"RECALC_WORKERS": "1"}, nil)
	res, err := http.Get(s.base + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	px.cut()
	s.stop()
	s.exited(t)
}
