package recalc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// listenDB is a database of the test's own, and a ListenConn on it that records the backend of
// each connection it opens. Connections after the first wait until allow is closed (or their
// context ends), so a test decides when a lost listener may come back.
type listenDB struct {
	db    *models.DB
	url   string
	allow chan struct{}

	mu    sync.Mutex
	pids  []uint32
	calls int
}

func newListenDB(t *testing.T) *listenDB {
	t.Helper()
	url := dbtest.NewDatabase(t)
	db, err := models.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &listenDB{db: db, url: url, allow: make(chan struct{})}
}

func (l *listenDB) listen(ctx context.Context) (*pgx.Conn, error) {
	l.mu.Lock()
	l.calls++
	again := l.calls > 1
	l.mu.Unlock()
	if again {
		select {
		case <-l.allow:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	conn, err := pgx.Connect(ctx, l.url)
	if err == nil {
		l.mu.Lock()
		l.pids = append(l.pids, conn.PgConn().PID())
		l.mu.Unlock()
	}
	return conn, err
}

// cut ends the listener's session from the server side, as a restart or a network cut would.
func (l *listenDB) cut(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	pid := l.pids[len(l.pids)-1]
	l.mu.Unlock()
	var ok bool
	require.NoError(t, l.db.SQL.QueryRow(`SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok))
	require.True(t, ok)
}

// events records what a pool does, in order: "listening", "unlistened", "idle", and "written"
// with the customers each write-back finished.
type event struct {
	what string
	keys []CustomerKey
}

func watchEvents(p *Pool) signal[event] {
	ev := newSignal[event]()
	p.hooks.listening = func() { ev.send(event{what: "listening"}) }
	p.hooks.unlistened = func(error) { ev.send(event{what: "unlistened"}) }
	p.hooks.idle = func() { ev.send(event{what: "idle"}) }
	p.hooks.written = func(keys []CustomerKey) { ev.send(event{what: "written", keys: keys}) }
	return ev
}

// await skips events until one is what (and, for "written", includes key).
func await(t *testing.T, ev signal[event], what string, key ...CustomerKey) {
	t.Helper()
	for {
		e := waitFor(t, ev)
		if e.what == what && (len(key) == 0 || slices.Contains(e.keys, key[0])) {
			return
		}
	}
}

// listeningPool is a pool of one claim loop that polls once an hour: only a notification (or the
// look after a (re)connection) makes it claim anything within a test.
func listeningPool(t *testing.T, l *listenDB) (*Pool, signal[event]) {
	cfg := testConfig(july15(t))
	cfg.Workers, cfg.PollInterval, cfg.Listen = 1, time.Hour, l.listen
	cfg.Log = slog.New(slog.NewTextHandler(tlog{t}, nil))
	p := NewPool(l.db, cfg)
	ev := watchEvents(p)
	stop := runPool(t, p)
	t.Cleanup(func() { require.NoError(t, stop()) })
	return p, ev
}

// A committed write wakes an idle pool at once: the pool polls once an hour, yet the customers'
// metrics are written. The write names more customers than the express lane takes, so the claim
// loop computes them.
func TestCommittedWriteWakesIdlePool(t *testing.T) {
	t.Parallel()
	l := newListenDB(t)
	f := newFixture(t, l.db)
	_, ev := listeningPool(t, l)
	await(t, ev, "listening")
	await(t, ev, "idle")

	keys := make([]CustomerKey, expressCustomers+1)
	for i := range keys {
		keys[i] = f.key(fmt.Sprintf("cus_%02d", i))
		f.addInvoices(t, keys[i].CustomerID, julySubscription)
	}
	enqueueUnfolded(t, l.db, keys...)
	left := map[CustomerKey]bool{}
	for _, k := range keys {
		left[k] = true
	}
	for len(left) > 0 {
		if e := waitFor(t, ev); e.what == "written" {
			for _, k := range e.keys {
				delete(left, k)
			}
		}
	}
	ms, stale, err := CustomerMetrics(context.Background(), l.db, keys[0])
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 9900, ms[0].MRRCents)
}

// A rolled-back write announces nothing: its notification is dropped with it, and its outbox row
// was never there.
func TestRolledBackWriteNotifiesNobody(t *testing.T) {
	t.Parallel()
	l := newListenDB(t)
	f := newFixture(t, l.db)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, l.url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "LISTEN "+NotifyChannel)
	require.NoError(t, err)

	tx := l.db.Gorm.Begin()
	require.NoError(t, Enqueue(ctx, tx, []CustomerKey{f.key("gone")}))
	require.NoError(t, tx.Rollback().Error)
	enqueueUnfolded(t, l.db, f.key("kept"))

	n, err := conn.WaitForNotification(ctx)
	require.NoError(t, err)
	var kept int64
	require.NoError(t, l.db.SQL.QueryRow(`SELECT id FROM recalc_outbox`).Scan(&kept))
	assert.Equal(t, fmt.Sprintf("%s/%d", f.account, kept), n.Payload,
		"the first notification is the committed write's, naming its account and (a small write) its outbox row")
	assert.Equal(t, 1, count(t, l.db, `SELECT count(*) FROM recalc_outbox`))
}

// A lost LISTEN connection is reopened, and what was committed meanwhile (announced to nobody) is
// claimed as soon as it is back; notifications then wake the pool again.
func TestLostListenerReconnectsAndCatchesUp(t *testing.T) {
	t.Parallel()
	l := newListenDB(t)
	f := newFixture(t, l.db)
	_, ev := listeningPool(t, l)
	await(t, ev, "listening")
	l.cut(t)
	await(t, ev, "unlistened")

	missed := f.key("cus_missed")
	f.addInvoices(t, missed.CustomerID, julySubscription)
	enqueueUnfolded(t, l.db, missed)
	close(l.allow)
	// The missed write is computed either by the look the loops take when the connection is lost
	// or by the one they take when it is back, so the two events may come in either order.
	for listening, written := false, false; !listening || !written; {
		e := waitFor(t, ev)
		listening = listening || e.what == "listening"
		written = written || e.what == "written" && slices.Contains(e.keys, missed)
	}

	await(t, ev, "idle")
	next := f.key("cus_next")
	f.addInvoices(t, next.CustomerID, julySubscription)
	enqueueUnfolded(t, l.db, next)
	await(t, ev, "written", next)
}

// While the LISTEN connection is down (here: it cannot be reopened at all), the pool still finds
// committed writes by polling.
func TestPollingWhileListenerIsDown(t *testing.T) {
	t.Parallel()
	l := newListenDB(t)
	f := newFixture(t, l.db)
	cfg := testConfig(july15(t)) // polls every 10 ms
	cfg.Workers, cfg.Listen = 1, l.listen
	p := NewPool(l.db, cfg)
	ev := watchEvents(p)
	stop := runPool(t, p)
	await(t, ev, "listening")
	l.cut(t)
	await(t, ev, "unlistened")

	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueueUnfolded(t, l.db, key)
	await(t, ev, "written", key)
	require.NoError(t, stop(), "the pool stops while its listener waits to reconnect")
}

// An account a notification names is served before the turn goes on, once; an account that has a
// turn already keeps its place, so a busy account's writes never take the others' turns.
func TestArrivedAccountIsServedFirst(t *testing.T) {
	var r rotation
	a, b, c := [16]byte{1}, [16]byte{2}, [16]byte{3}
	r.set([][16]byte{a, c}, nil)
	first, ok := r.take()
	require.True(t, ok)
	require.Equal(t, a, first)

	r.arrive(b)
	r.arrive(b) // a burst of notifications: one visit out of turn
	r.arrive(a) // has a turn
	var order [][16]byte
	for range 4 {
		x, ok := r.take()
		require.True(t, ok)
		order = append(order, x)
	}
	assert.Equal(t, [][16]byte{b, b, c, a}, order, "b at once, then the turn after a, which b has joined")
}

// A small write is computed while the claim loop is busy with a bulk write's batch: the express
// lane folds, claims and computes it alone. The claim loop is held in its batch until the end.
func TestExpressLaneServesSmallWriteWhileLoopIsBusy(t *testing.T) {
	t.Parallel()
	l := newListenDB(t)
	f := newFixture(t, l.db)
	bulk := make([]CustomerKey, 2*expressCustomers)
	for i := range bulk {
		bulk[i] = f.key(fmt.Sprintf("bulk_%02d", i))
		f.addInvoices(t, bulk[i].CustomerID, julySubscription)
	}
	cfg := testConfig(july15(t))
	cfg.Workers, cfg.PollInterval, cfg.Listen = 1, time.Hour, l.listen
	p := NewPool(l.db, cfg)
	hold, held := make(chan struct{}), newSignal[struct{}]()
	p.hooks.beforeWrite = func(ctx context.Context, keys []CustomerKey) error {
		if slices.Contains(keys, bulk[0]) {
			held.send(struct{}{})
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		return nil
	}
	ev := watchEvents(p)
	stop := runPool(t, p)
	await(t, ev, "listening")

	enqueueUnfolded(t, l.db, bulk...)
	waitFor(t, held)
	small := f.key("small")
	f.addInvoices(t, small.CustomerID, julySubscription)
	enqueueUnfolded(t, l.db, small)
	await(t, ev, "written", small)
	ms, stale, err := CustomerMetrics(context.Background(), l.db, small)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)

	close(hold)
	await(t, ev, "written", bulk[0])
	require.NoError(t, stop())
	assert.Zero(t, count(t, l.db, `SELECT count(*) FROM recalc_queue`)+count(t, l.db, `SELECT count(*) FROM recalc_outbox`))
}

// The express lane's fold is the fold restricted to given outbox rows: a rewrite of foldSQL that
// the restriction no longer matches fails here (the lane would be off, see Pool.notified).
func TestExpressFoldIsRestricted(t *testing.T) {
	require.NotEqual(t, foldSQL, expressFoldSQL)
}

// tlog writes a pool's log lines to the test's log.
type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }
