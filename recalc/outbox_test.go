package recalc

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

func TestEnqueueAppendsToOutboxAndFoldQueues(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	other := uuid.New()
	keys := []CustomerKey{f.key("cus_b"), f.key("cus_a"), f.key("cus_b"),
		{AccountID: f.account, SourceID: other, CustomerID: "cus_a"}}
	enqueueUnfolded(t, db, keys...)

	assert.Equal(t, 2, count(t, db, `SELECT count(*) FROM recalc_outbox WHERE account_id = $1`, f.account.String()),
		"one row per data source")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM recalc_outbox o, unnest(o.customer_ids) AS c
		WHERE o.account_id = $1`, f.account.String()), "each customer once")
	_, ok := queued(t, db, f.key("cus_a"))
	assert.False(t, ok, "not queued before a fold")
	_, stale, err := CustomerMetrics(context.Background(), db, f.key("cus_a"))
	require.NoError(t, err)
	assert.True(t, stale, "a customer named by the outbox is stale already")

	n, err := fold(context.Background(), db)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox WHERE account_id = $1`, f.account.String()))
	for _, k := range keys {
		row, ok := queued(t, db, k)
		require.True(t, ok, "%v queued", k)
		assert.EqualValues(t, 1, row.version)
	}
	_, stale, err = CustomerMetrics(context.Background(), db, f.key("cus_a"))
	require.NoError(t, err)
	assert.True(t, stale)
}

func TestFoldTakesEveryPendingRow(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	// More outbox rows than one fold statement takes, naming 50 customers over and over (the
	// rows Enqueue writes, inserted at once).
	_, err := db.SQL.ExecContext(context.Background(), `
		INSERT INTO recalc_outbox (account_id, source_id, customer_ids)
		SELECT $1, $2, ARRAY['cus_' || chr(97 + i % 25), 'cus_' || chr(65 + i % 25)]
		FROM generate_series(0, $3::int - 1) i`, f.account.String(), f.source.String(), foldRows*2+7)
	require.NoError(t, err)
	_, err = fold(context.Background(), db)
	require.NoError(t, err)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox`))
	assert.Equal(t, 50, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, f.account.String()))
}

// One fold statement stops at the outbox row that brings the customer names it took to foldNames,
// and says more rows may be left; the fold goes on until none is.
func TestFoldStatementStopsAtFoldNames(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	ctx := context.Background()
	const rows, names = 5, foldNames * 3 / 10 // 5 chunks naming the same 60,000 customers
	_, err := db.SQL.ExecContext(ctx, `
		INSERT INTO recalc_outbox (account_id, source_id, customer_ids)
		SELECT $1, $2, (SELECT array_agg('cus_' || c) FROM generate_series(1, $3::int) c)
		FROM generate_series(1, $4::int)`, f.account.String(), f.source.String(), names, rows)
	require.NoError(t, err)

	p := NewPool(db, Config{Log: slog.New(slog.DiscardHandler)})
	var taken, queued, progressed int
	var more bool
	require.NoError(t, db.SQL.QueryRowContext(ctx, foldSQL, [16]byte(f.account), foldRows, p.dbNow(), nil, foldNames).
		Scan(&taken, &queued, &progressed, &more))
	assert.Equal(t, (foldNames+names-1)/names, taken, "rows up to the one reaching foldNames names")
	assert.Equal(t, names, queued)
	assert.True(t, more)
	assert.Equal(t, rows-taken, count(t, db, `SELECT count(*) FROM recalc_outbox`))

	_, err = fold(ctx, db)
	require.NoError(t, err)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox`))
	assert.Equal(t, names, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, f.account.String()))
}

func TestWriteDuringComputationStillInOutboxRunsAgain(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	key := f.key("cus_1")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueue(t, db, key)

	p := NewPool(db, testConfig(july15(t)))
	// A write commits between computing and writing back, and no fold sees it before the
	// write-back deletes the queue row: the outbox still names the customer.
	injected := false
	p.hooks.beforeWrite = func(context.Context, []CustomerKey) error {
		if !injected {
			injected = true
			f.addInvoices(t, key.CustomerID, testInvoice{id: "i2", typ: "subscription", date: "2024-07-01",
				start: "2024-07-01", end: "2024-08-01", amount: 100, currency: "USD"})
			enqueueUnfolded(t, db, key)
		}
		return nil
	}
	n, _, err := p.runOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ms, stale, err := CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.True(t, stale, "the metrics predate a committed write")
	require.Len(t, ms, 1)
	assert.EqualValues(t, 9900, ms[0].MRRCents)

	assert.Equal(t, 1, drain(t, p))
	ms, stale, err = CustomerMetrics(context.Background(), db, key)
	require.NoError(t, err)
	assert.False(t, stale)
	require.Len(t, ms, 1)
	assert.EqualValues(t, 10000, ms[0].MRRCents)
}

// An import's later chunk naming a customer its earlier chunk queued (folded apart) counts the
// customer once; another import naming the same customer counts it too; both are caught up once
// the workers are done.
func TestFoldMergesAnImportsLaterChunk(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	ctx := context.Background()
	first, second := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{first, second} {
		_, err := db.SQL.ExecContext(ctx, `INSERT INTO imports (account_id, id, entity, status, dry_run, content_type,
			key_id, started_at, heartbeat_at) VALUES ($1, $2, 'invoices', 'completed', false, 'application/json', $3, now(), now())`,
			f.account.String(), id.String(), uuid.NewString())
		require.NoError(t, err)
	}
	a, b, c := f.key("cus_a"), f.key("cus_b"), f.key("cus_c")
	for _, k := range []CustomerKey{a, b, c} {
		f.addInvoices(t, k.CustomerID, julySubscription)
	}
	enqueueFor := func(imp uuid.UUID, keys ...CustomerKey) {
		require.NoError(t, db.Gorm.Transaction(func(tx *gorm.DB) error { return EnqueueImport(ctx, tx, imp, keys) }))
	}
	progress := func() (Progress, Progress) {
		p, err := ImportProgress(ctx, db.Gorm, f.account, []uuid.UUID{first, second})
		require.NoError(t, err)
		return p[first], p[second]
	}
	p := NewPool(db, testConfig(july15(t)))
	enqueueFor(first, a, b)
	_, err := p.fold(ctx, f.account)
	require.NoError(t, err)
	enqueueFor(first, b, c)  // the same import's next chunk: b again
	enqueueFor(second, b, c) // another import
	_, err = p.fold(ctx, f.account)
	require.NoError(t, err)
	got1, got2 := progress()
	assert.Equal(t, [2]int64{3, 3}, [2]int64{got1.Customers, got1.Pending}, "first import: a, b, c once each")
	assert.Equal(t, [2]int64{2, 2}, [2]int64{got2.Customers, got2.Pending}, "second import: b, c")

	require.Equal(t, 3, drain(t, p))
	got1, got2 = progress()
	assert.Equal(t, [2]int64{3, 0}, [2]int64{got1.Customers, got1.Pending})
	assert.Equal(t, [2]int64{2, 0}, [2]int64{got2.Customers, got2.Pending})
	assert.NotNil(t, got1.CaughtUpAt)
	assert.NotNil(t, got2.CaughtUpAt)
}

// A customer that many imports wrote before any worker got to it carries all their ids; a fold
// bringing more of them (later chunks of the same imports, and new imports) counts it once per
// import still: the same as with few imports, through the set difference the fold then uses
// instead of the overlap test (newImportIDs).
func TestFoldMergesChunksOfACustomerWithManyImports(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	ctx := context.Background()
	rows, err := db.SQL.QueryContext(ctx, `INSERT INTO imports (account_id, id, entity, status, dry_run, content_type,
		key_id, started_at, heartbeat_at) SELECT $1, gen_random_uuid(), 'invoices', 'completed', false, 'application/json',
		gen_random_uuid(), now(), now() FROM generate_series(1, 180) RETURNING id`, f.account.String())
	require.NoError(t, err)
	var imports []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		require.NoError(t, rows.Scan(&id))
		imports = append(imports, id)
	}
	require.NoError(t, rows.Err())
	key := f.key("cus_b")
	f.addInvoices(t, key.CustomerID, julySubscription)
	enqueueAll := func(ids []uuid.UUID) {
		require.NoError(t, db.Gorm.Transaction(func(tx *gorm.DB) error {
			for _, id := range ids {
				if err := EnqueueImport(ctx, tx, id, []CustomerKey{key}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	p := NewPool(db, testConfig(july15(t)))
	enqueueAll(imports[:120])
	_, err = p.fold(ctx, f.account)
	require.NoError(t, err)
	enqueueAll(imports[60:]) // 60 imports naming the customer again, 60 new ones
	_, err = p.fold(ctx, f.account)
	require.NoError(t, err)

	var carried int
	require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT cardinality(import_ids) FROM recalc_queue`).Scan(&carried))
	assert.Equal(t, 180, carried, "each import's id once")
	progress, err := ImportProgress(ctx, db.Gorm, f.account, imports)
	require.NoError(t, err)
	for i, id := range imports {
		assert.Equal(t, [2]int64{1, 1}, [2]int64{progress[id].Customers, progress[id].Pending}, "import %d", i)
	}
	require.Equal(t, 1, drain(t, p))
	progress, err = ImportProgress(ctx, db.Gorm, f.account, imports)
	require.NoError(t, err)
	for i, id := range imports {
		assert.Equal(t, [2]int64{1, 0}, [2]int64{progress[id].Customers, progress[id].Pending}, "import %d caught up", i)
	}
}

// The claim loops' fold leaves alone the outbox rows the express lane holds, waiting or being
// served, and folds them like any other once the lane lets go.
func TestFoldLeavesTheExpressLanesRows(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	f := newFixture(t, db)
	ctx := context.Background()
	require.NotEqual(t, foldSQL, expressFoldSQL, "the lane's fold takes just its rows")
	p := NewPool(db, testConfig(july15(t)))
	bulk, small := f.key("cus_bulk"), f.key("cus_small")
	enqueueUnfolded(t, db, bulk)
	enqueueUnfolded(t, db, small)
	var smallRow int64
	require.NoError(t, db.SQL.QueryRow(`SELECT id FROM recalc_outbox WHERE $1 = ANY(customer_ids)`, small.CustomerID).Scan(&smallRow))
	require.True(t, p.express.add(f.account, smallRow))

	_, err := p.fold(ctx, f.account)
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM recalc_queue WHERE customer_id = $1`, bulk.CustomerID))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue WHERE customer_id = $1`, small.CustomerID), "waiting in the lane")

	account, ids, ok := p.express.next()
	require.True(t, ok)
	require.Equal(t, []int64{smallRow}, ids)
	_, err = p.fold(ctx, f.account)
	require.NoError(t, err)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue WHERE customer_id = $1`, small.CustomerID), "being served")

	p.express.done(account)
	_, err = p.fold(ctx, f.account)
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM recalc_queue WHERE customer_id = $1`, small.CustomerID), "let go: folded")
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox`))
}
