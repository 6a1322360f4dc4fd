package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/webhooks"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Tests that run a delivery Pool are not parallel: a pool claims the due deliveries of every
// account, so two at once would deliver each other's events. Each test's endpoints (and so its
// deliveries) are deleted when it ends.

// allowPrivate is the guard of tests whose receiver listens on 127.0.0.1.
var allowPrivate = webhooks.Guard{AllowPrivate: true}

// clock is a test's injected clock: it moves only when the test says so.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: models.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// set moves the clock to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an httptest endpoint that answers each request with the next of its codes (the
// last one once they run out) and keeps what it got.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	codes []int
	got   []received
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	r := &receiver{codes: codes}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		code := 200
		if len(r.codes) > 0 {
			code = r.codes[0]
			if len(r.codes) > 1 {
				r.codes = r.codes[1:]
			}
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// fixture is an account with the package's database.
type fixture struct {
	t       *testing.T
	db      *models.DB
	account uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(context.Background(), "webhooks-"+t.Name())
	require.NoError(t, err)
	t.Cleanup(func() {
		db.Gorm.Exec(`DELETE FROM webhook_endpoints WHERE account_id = $1`, [16]byte(acc.ID))
	})
	return &fixture{t: t, db: db, account: acc.ID}
}

// endpoint creates an endpoint of the fixture's account at url for events.
func (f *fixture) endpoint(url string, events ...string) webhooks.Endpoint {
	f.t.Helper()
	e, err := webhooks.Create(context.Background(), f.db.Gorm, allowPrivate, f.account,
		webhooks.NewEndpoint{URL: url, Events: events}, models.Now())
	require.NoError(f.t, err)
	return e
}

// record commits events of the fixture's account at at.
func (f *fixture) record(at time.Time, events ...webhooks.Event) {
	f.t.Helper()
	tx := f.db.Gorm.Begin()
	require.NoError(f.t, webhooks.Record(context.Background(), tx, f.account, at, events...))
	require.NoError(f.t, tx.Commit().Error)
}

// deliveries is the endpoint's whole deliveries log.
func (f *fixture) deliveries(e webhooks.Endpoint) []webhooks.Delivery {
	f.t.Helper()
	list, _, _, err := webhooks.Deliveries(context.Background(), f.db.Gorm, f.account, e.ID, models.Page{Limit: 1000})
	require.NoError(f.t, err)
	return list
}

// pool is a delivery pool of the fixture's database on clock c.
func (f *fixture) pool(c *clock, g webhooks.Guard) *webhooks.Pool {
	return webhooks.NewPool(f.db, webhooks.Config{Guard: g, Now: c.Now, Workers: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// runOnce runs one claim of p and returns how many deliveries it claimed.
func runOnce(t *testing.T, p *webhooks.Pool) int {
	t.Helper()
	n, err := p.RunOnce(context.Background())
	require.NoError(t, err)
	return n
}

// envelope is a delivery's body.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

func decode(t *testing.T, body []byte) envelope {
	t.Helper()
	var e envelope
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return e
}
