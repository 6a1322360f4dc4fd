package recalc

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newDB returns a database of the test's own: tests that run workers claim whatever is due, so
// they must not share a queue with parallel tests.
func newDB(t testing.TB) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// fixture is one account with one data source, where a test creates customers and invoices.
type fixture struct {
	db      *models.DB
	account uuid.UUID
	source  uuid.UUID
}

func newFixture(t testing.TB, db *models.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, account: uuid.New(), source: uuid.New()}
	ctx := context.Background()
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO accounts (id, name) VALUES ($1, 'test')`, f.account.String())
	require.NoError(t, err)
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO data_sources (account_id, id, name) VALUES ($1, $2, 'src')`,
		f.account.String(), f.source.String())
	require.NoError(t, err)
	return f
}

func (f *fixture) key(customer string) CustomerKey {
	return CustomerKey{AccountID: f.account, SourceID: f.source, CustomerID: customer}
}

// julySubscription is a monthly subscription running through July 2024, at 99.00 USD.
var julySubscription = testInvoice{id: "i1", typ: "subscription", date: "2024-07-01", start: "2024-07-01",
	end: "2024-08-01", amount: 9900, currency: "USD"}

// seedCustomers gives n customers of a database of their own one running subscription each, and
// queues them.
func seedCustomers(t *testing.T, n int) (*models.DB, []CustomerKey) {
	t.Helper()
	db := newDB(t)
	f := newFixture(t, db)
	keys := make([]CustomerKey, n)
	for i := range keys {
		keys[i] = f.key(fmt.Sprintf("cus_%03d", i))
		f.addInvoices(t, keys[i].CustomerID, julySubscription)
	}
	enqueue(t, db, keys...)
	return db, keys
}

// testInvoice is an invoice row as a test writes it.
type testInvoice struct {
	id       string
	typ      string
	date     string // YYYY-MM-DD
	start    string
	end      string
	amount   int64
	discount int64 // 0 is stored as NULL
	currency string
	subID    string // "" is stored as NULL
}

// addInvoices creates the customer (if needed) and its invoices with plain SQL, the way a test
// seeds the database without going through ingest. Invoice ids are stored as customer/id, so tests
// may reuse short ids across customers.
func (f *fixture) addInvoices(t testing.TB, customer string, invs ...testInvoice) {
	t.Helper()
	ctx := context.Background()
	_, err := f.db.SQL.ExecContext(ctx, `
		INSERT INTO customers (account_id, source_id, id, content_hash, created_at, updated_at)
		VALUES ($1, $2, $3, '\x00', now(), now()) ON CONFLICT DO NOTHING`,
		f.account.String(), f.source.String(), customer)
	require.NoError(t, err)
	for _, inv := range invs {
		_, err := f.db.SQL.ExecContext(ctx, `
			INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
			    subscription_id, start_date, end_date, discount, content_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''), $10, $11, nullif($12, 0), '\x00', now(), now())`,
			f.account.String(), f.source.String(), customer+"/"+inv.id, customer, inv.typ, day(t, inv.date), inv.amount,
			inv.currency, inv.subID, day(t, inv.start), day(t, inv.end), inv.discount)
		require.NoError(t, err)
	}
}

// asInvoices converts test invoices to what Compute takes, for expected values.
func asInvoices(t testing.TB, invs []testInvoice) []Invoice {
	out := make([]Invoice, len(invs))
	for i, inv := range invs {
		out[i] = Invoice{Type: inv.typ, Date: day(t, inv.date), StartDate: day(t, inv.start), EndDate: day(t, inv.end),
			AmountCents: inv.amount, DiscountCents: inv.discount, Currency: inv.currency, SubscriptionID: inv.subID}
	}
	return out
}

// july15 is a clock pinned to 2024-07-15, mid-way through the subscriptions tests seed.
func july15(t testing.TB) func() time.Time {
	return func() time.Time { return day(t, "2024-07-15") }
}

// day parses YYYY-MM-DD as midnight UTC.
func day(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return v
}

// fold folds the outbox rows of every account into the queue, as the workers' visits would, and
// returns how many customers it queued or bumped.
func fold(ctx context.Context, db *models.DB) (int, error) {
	p := NewPool(db, Config{Log: slog.New(slog.DiscardHandler)})
	accounts, err := p.accounts(ctx, `SELECT DISTINCT account_id FROM recalc_outbox`)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, a := range accounts {
		n, err := p.fold(ctx, a)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// enqueue queues keys in a transaction of its own, as one ingest request would, then folds the
// outbox into the queue, as the next worker poll would.
//
// Tests sharing a database fold each other's rows too; a fold skips rows another fold holds, so
// the helper folds until none of its keys' accounts has an outbox row left.
func enqueue(t testing.TB, db *models.DB, keys ...CustomerKey) {
	t.Helper()
	enqueueUnfolded(t, db, keys...)
	accounts := make([]string, len(keys))
	for i, k := range keys {
		accounts[i] = k.AccountID.String()
	}
	for {
		_, err := fold(context.Background(), db)
		require.NoError(t, err)
		var left bool
		require.NoError(t, db.SQL.QueryRow(`SELECT EXISTS (SELECT 1 FROM recalc_outbox WHERE account_id::text = ANY ($1))`,
			accounts).Scan(&left))
		if !left {
			return
		}
	}
}

// enqueueUnfolded is enqueue without the fold: the keys stay in the outbox.
func enqueueUnfolded(t testing.TB, db *models.DB, keys ...CustomerKey) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return Enqueue(ctx, tx, keys) }))
}

// queueRow is a recalc_queue row as tests inspect it; timestamps are relative to the database's now().
type queueRow struct {
	version     int64
	attempts    int
	lastError   string
	runAtIn     time.Duration // run_at - now()
	backoff     time.Duration // run_at - updated_at: the wait a failure set, measured when it was recorded
	locked      bool          // locked_until IS NOT NULL
	lockedUntil time.Duration // locked_until - now(), when locked
	lockedBy    string
}

// queued returns key's queue row, and whether there is one.
func queued(t testing.TB, db *models.DB, key CustomerKey) (queueRow, bool) {
	t.Helper()
	var r queueRow
	var lastError, lockedBy sql.NullString
	var runAtUs, backoffUs int64
	var lockedUs sql.NullInt64
	err := db.SQL.QueryRowContext(context.Background(), `
		SELECT version, attempts, last_error,
		       (extract(epoch FROM run_at - now()) * 1e6)::bigint,
		       (extract(epoch FROM run_at - updated_at) * 1e6)::bigint,
		       (extract(epoch FROM locked_until - now()) * 1e6)::bigint, locked_by
		FROM recalc_queue WHERE account_id = $1 AND source_id = $2 AND customer_id = $3`,
		key.AccountID.String(), key.SourceID.String(), key.CustomerID).
		Scan(&r.version, &r.attempts, &lastError, &runAtUs, &backoffUs, &lockedUs, &lockedBy)
	if err == sql.ErrNoRows {
		return r, false
	}
	require.NoError(t, err)
	r.lastError, r.lockedBy = lastError.String, lockedBy.String
	r.runAtIn = time.Duration(runAtUs) * time.Microsecond
	r.backoff = time.Duration(backoffUs) * time.Microsecond
	r.locked, r.lockedUntil = lockedUs.Valid, time.Duration(lockedUs.Int64)*time.Microsecond
	return r, true
}

// count runs a SELECT count(*) ... and returns the count. t may be an EventuallyWithT collector.
func count(t require.TestingT, db *models.DB, query string, args ...any) int {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	var n int
	require.NoError(t, db.SQL.QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

// queryMap runs query, whose rows are (key, value), and returns them as a map.
func queryMap[V any](t *testing.T, db *models.DB, query string, args ...any) map[string]V {
	t.Helper()
	rows, err := db.SQL.QueryContext(context.Background(), query, args...)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]V{}
	for rows.Next() {
		var k string
		var v V
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// clock is a settable clock for Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }

// testConfig is a quiet pool config with a pinned clock.
func testConfig(now func() time.Time) Config {
	return Config{Now: now, Log: slog.New(slog.DiscardHandler), PollInterval: 10 * time.Millisecond}
}

// leased is cfg with small claims off: every batch is claimed with a lease, as tests of leases,
// heartbeats, releases and of writes landing while a claim computes need.
func leased(cfg Config) Config {
	cfg.SmallClaim = -1
	return cfg
}

// drain runs p until nothing is due, returning how many customers it computed.
func drain(t testing.TB, p *Pool) int {
	t.Helper()
	total := 0
	for {
		n, claimed, err := p.runOnce(context.Background())
		require.NoError(t, err)
		total += n
		if claimed == 0 {
			return total
		}
	}
}
