package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// proxy forwards TCP to PostgreSQL until cut: then it drops every connection and refuses new
// ones, as a restarting database would, until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, up: true}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if !p.up {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

// A database outage answers 503 with Retry-After, never 500, and the service recovers by itself.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL, err := url.Parse(dbtest.NewDatabase(t))
	require.NoError(t, err)
	px := newProxy(t, dbURL.Host)
	dbURL.Host = px.ln.Addr().String()
	db, err := models.Open(context.Background(), dbURL.String())
	require.NoError(t, err)
	defer db.Close()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	srv := httptest.NewServer((&api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	e := &env{t: t, db: db, srv: srv}
	tn := newTenant(t, e, "outage")

	px.cut()
	r := e.do("POST", "/data/invoices", tn.key, bulkExample)
	requireProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	require.Equal(t, "2", r.Header.Get("Retry-After"))
	require.Equal(t, http.StatusServiceUnavailable, e.do("GET", "/readyz", "", nil).Status)
	require.Equal(t, http.StatusOK, e.do("GET", "/healthz", "", nil).Status, "the process itself is alive")

	px.restore()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := e.send("GET", "/readyz", "", nil)
		require.NoError(c, err)
		assert.Equal(c, http.StatusOK, r.Status)
	}, 10*time.Second, 20*time.Millisecond)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
}
