package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/client"
	"invoice-ingest/config"
	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// injected marks an answer the test made up in front of the API (a 503, a 502).
const injected = "X-Test-Injected"

// server is the real API over the package's database, with an account, its key and a data
// source "src"; wrap, when set, answers in front of it.
type server struct {
	url, key string
	mu       sync.Mutex
	wrap     func(w http.ResponseWriter, r *http.Request) bool // true: answered, do not pass on
}

func newServer(t *testing.T) *server {
	t.Helper()
	db := dbtest.DB(t)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers = 0
	cfg.Limits = config.Limits{}
	h := (&api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	s := &server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		wrap := s.wrap
		s.mu.Unlock()
		w.Header().Set(injected, "1") // the contract check skips the test's own answers
		if wrap != nil && wrap(w, r) {
			return
		}
		w.Header().Del(injected)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, key, err := db.CreateAccount(context.Background(), t.Name())
	require.NoError(t, err)
	s.url, s.key = srv.URL, key
	_, err = s.client(t, nil).EnsureDataSource(context.Background(), "src")
	require.NoError(t, err)
	return s
}

// client returns a client of s whose exchanges are checked against the OpenAPI document and
// whose waits are recorded in waits instead of slept.
func (s *server) client(t *testing.T, waits *[]time.Duration) *client.Client {
	c := client.New(s.url, s.key)
	c.HTTP = &http.Client{Transport: newContractTransport(t)}
	var mu sync.Mutex
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	}
	c.Rand = func() float64 { return 0.5 }
	return c
}

func (s *server) setWrap(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrap = f
}
