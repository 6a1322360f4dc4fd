package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models/dbtest"
)

// streamEnv is an API whose NDJSON streams report how they ended on ended.
type streamEnv struct {
	*env
	server *api.Server
	ended  chan error
}

func newStreamEnv(t *testing.T, s *api.Server, listen func(net.Listener) net.Listener) *streamEnv {
	t.Helper()
	if s.DB == nil {
		s.DB = dbtest.DB(t)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ended := make(chan error, 16)
	api.OnStreamEnd(s, func(err error) { ended <- err })
	h := s.Handler()
	srv := httptest.NewUnstartedServer(h)
	if listen != nil {
		srv.Listener = listen(srv.Listener)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &streamEnv{env: &env{t: t, db: s.DB, srv: srv, handler: h}, server: s, ended: ended}
}

// streamConfig is the default configuration changed by mutate.
func streamConfig(t *testing.T, mutate func(*config.Config)) config.Config {
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers = 0
	mutate(&cfg)
	return cfg
}

// waitEnd returns how the next stream ended, failing the test when none ends in time.
func (e *streamEnv) waitEnd(t *testing.T) error {
	t.Helper()
	select {
	case err := <-e.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the stream's handler did not finish")
		return nil
	}
}

// openStream posts an NDJSON body that the test goes on writing to; it returns once the answer's
// status arrived, which for a stream means its first chunk was answered.
func (e *streamEnv) openStream(t *testing.T, key string, rows func(w io.Writer)) (*http.Response, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	go rows(pw)
	req, err := http.NewRequest("POST", e.srv.URL+"/data/customers", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { pw.Close(); res.Body.Close() })
	return res, pw
}

// customerRows writes n customer rows, ids prefix0 .. prefix(n-1).
func customerRows(w io.Writer, prefix string, n int) {
	for i := range n {
		if _, err := fmt.Fprintf(w, `{"id": "%s%d", "data_source": "stripe"}`+"\n", prefix, i); err != nil {
			return
		}
	}
}

// readLines reads n result lines, each a row answered with status.
func readLines(t *testing.T, sc *bufio.Scanner, n int, status string) {
	t.Helper()
	for i := range n {
		require.True(t, sc.Scan(), "line %d: %v", i, sc.Err())
		require.Contains(t, sc.Text(), `"import_status":"`+status+`"`, sc.Text())
	}
}

// requireErrorLine reads the stream's last line, {"error": problem}, and then its end.
func requireErrorLine(t *testing.T, sc *bufio.Scanner, code, detail string) {
	t.Helper()
	require.True(t, sc.Scan(), "an error line: %v", sc.Err())
	var last struct {
		Error map[string]any `json:"error"`
	}
	require.NoError(t, json.Unmarshal(sc.Bytes(), &last), sc.Text())
	require.Equal(t, code, last.Error["code"], sc.Text())
	require.Contains(t, last.Error["detail"], detail)
	require.False(t, sc.Scan(), "nothing after the error line: %s", sc.Text())
}

// A stream that goes silent is ended after STREAM_IDLE_TIMEOUT: its committed chunk stays, the
// rows of its unfinished chunk are not written, and the answer ends with an error line.
func TestStreamIdle(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, func(c *config.Config) { c.StreamIdleTimeout = 200 * time.Millisecond })}, nil)
	tn := newTenant(t, e.env, "idle")

	res, _ := e.openStream(t, tn.key, func(w io.Writer) { customerRows(w, "idle", 1005) }) // then silence
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	requireErrorLine(t, sc, "invalid_request", "No byte of the stream arrived for 200ms")
	require.ErrorIs(t, e.waitEnd(t), api.ErrStreamIdle)
	require.EqualValues(t, 1000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'idle%'`, tn.sourceID))

	// Silent from the start: nothing was answered yet, so the answer is a problem.
	req, err := http.NewRequest("POST", e.srv.URL+"/data/customers", io.MultiReader(strings.NewReader(`{"id": "cut`), blockingReader{}))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tn.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	requireProblem(t, response{Status: r.StatusCode, Header: r.Header, Body: body}, http.StatusBadRequest, "invalid_request")
	require.ErrorIs(t, e.waitEnd(t), api.ErrStreamIdle)
}

// blockingReader never returns: a client that stops sending.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

// A client that stops reading the answer cannot hold the handler: each write of results has
// STREAM_IDLE_TIMEOUT to go through.
func TestStreamStalledReader(t *testing.T) {
	t.Parallel()
	small := func(ln net.Listener) net.Listener { return smallBuffers{ln} }
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, func(c *config.Config) { c.StreamIdleTimeout = 200 * time.Millisecond })}, small)
	key := e.account("stalled")

	var body strings.Builder
	for i := range 3000 { // rows in error are answered without the database, at length
		fmt.Fprintf(&body, `{"id": "stalled%d"}`+"\n", i)
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	go fmt.Fprintf(conn, "POST /data/customers HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n%s", key, body.Len(), body.String())
	// The test never reads the answer.
	err = e.waitEnd(t)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the handler gave up writing")
}

// smallBuffers gives accepted connections a small send buffer, so a client that does not read
// blocks the server's writes after a few KiB rather than after megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// At most MAX_STREAMS_PER_ACCOUNT streams of one account run at once; the next is 429.
func TestStreamsPerAccount(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, func(c *config.Config) { c.MaxStreamsPerAccount = 1 })}, nil)
	tn := newTenant(t, e.env, "streams")
	other := newTenant(t, e.env, "streams-other")

	res, pw := e.openStream(t, tn.key, func(w io.Writer) { customerRows(w, "first", 1000) })
	require.Equal(t, http.StatusOK, res.StatusCode) // the first chunk is answered: the stream runs

	r := e.do("POST", "/data/customers", tn.key, `{"id": "second", "data_source": "stripe"}`, "Content-Type", "application/x-ndjson")
	requireProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	res2, _ := ndjson(t, e.env, "/data/customers", other.key, `{"id": "other", "data_source": "stripe"}`)
	require.Len(t, res2, 1, "another account is not limited")
	require.ErrorIs(t, e.waitEnd(t), io.EOF)

	pw.Close() // the first stream ends; then the account may stream again
	_, err := io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	res2, _ = ndjson(t, e.env, "/data/customers", tn.key, `{"id": "second", "data_source": "stripe"}`)
	require.Equal(t, "inserted", res2[0]["import_status"])
}

// When the server is told to stop, a running stream ends at its chunk boundary with a resumable
// error line, and a new one is answered 200 with that line alone; /readyz answers 503.
func TestStreamStopping(t *testing.T) {
	t.Parallel()
	stopping := make(chan struct{})
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, func(*config.Config) {}), Stopping: stopping}, nil)
	tn := newTenant(t, e.env, "stopping")
	api.ReadyCacheFor(e.server, time.Nanosecond)
	require.Equal(t, http.StatusOK, e.do("GET", "/readyz", "", nil).Status)

	res, _ := e.openStream(t, tn.key, func(w io.Writer) { customerRows(w, "stop", 1500) })
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	close(stopping)
	const resumable = "The server is shutting down; re-send the rows after the last answered one."
	requireErrorLine(t, sc, "unavailable", resumable)
	require.ErrorIs(t, e.waitEnd(t), api.ErrStreamStopping)
	require.EqualValues(t, 1000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'stop%'`, tn.sourceID))

	r := e.do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	r = e.do("POST", "/data/customers", tn.key, `{"id": "late", "data_source": "stripe"}`, "Content-Type", "application/x-ndjson")
	require.Equal(t, http.StatusOK, r.Status, "no 5xx because of a deploy")
	sc = bufio.NewScanner(strings.NewReader(string(r.Body)))
	requireErrorLine(t, sc, "unavailable", resumable)
}
