package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is a running API over the package's database.
type env struct {
	t       testing.TB
	db      *models.DB
	srv     *httptest.Server
	handler http.Handler
}

func newEnv(t testing.TB, mutate ...func(*config.Config)) *env {
	t.Helper()
	return newEnvOn(t, dbtest.DB(t), mutate...)
}

// newEnvOn is newEnv over db.
func newEnvOn(t testing.TB, db *models.DB, mutate ...func(*config.Config)) *env {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers = 0
	for _, m := range mutate {
		m(&cfg)
	}
	s := &api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, handler: h}
}

// noLimits turns the rate limits off, for tests that send more requests than a client would.
func noLimits(c *config.Config) { c.Limits = config.Limits{} }

// account creates an account and returns its key.
func (e *env) account(name string) string {
	e.t.Helper()
	_, key, err := e.db.CreateAccount(context.Background(), name)
	require.NoError(e.t, err)
	return key
}

// response is what a call answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	req    *http.Request  // what was sent, for the contract check
	res    *http.Response // what came back (its body already read into Body)
}

// JSON decodes the body into a generic value. t may be an *assert.CollectT.
func (r response) JSON(t require.TestingT) map[string]any {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &v), string(r.Body))
	return v
}

// do sends a request; body may be nil, a string (sent as is) or any value (sent as JSON).
func (e *env) do(method, path, key string, body any, headers ...string) response {
	e.t.Helper()
	r, err := e.send(method, path, key, body, headers...)
	require.NoError(e.t, err)
	checkContract(e.t, r.req, r.res, r.Body) // every answer of the suite matches api/openapi.yaml
	return r
}

// send is do for goroutines other than the test's, which must not fail it: it returns the error.
func (e *env) send(method, path, key string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: out, req: req, res: res}, nil
}

// requireProblem asserts an RFC 9457 error with status and code.
func requireProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.JSON(t)
	require.Equal(t, code, p["code"])
	require.Equal(t, float64(status), p["status"])
	require.Equal(t, "about:blank", p["type"])
	require.NotEmpty(t, p["title"])
	require.NotEmpty(t, p["detail"])
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))
	require.Equal(t, r.Header.Get("X-Request-Id"), p["request_id"], "every problem quotes its request id")
}
