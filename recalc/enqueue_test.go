package recalc

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"invoice-ingest/models/dbtest"
)

// Enqueue tests share the package database: no worker ever runs on it, and each test uses
// accounts of its own.

func TestEnqueueCoalescesWrites(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	key := CustomerKey{AccountID: uuid.New(), SourceID: uuid.New(), CustomerID: "cus_1"}
	// 1000 committed transactions, from several goroutines at once, as concurrent ingest requests.
	const writers, each = 8, 125
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				enqueue(t, db, key)
			}
		})
	}
	wg.Wait()
	row, ok := queued(t, db, key)
	require.True(t, ok)
	assert.EqualValues(t, 1, row.version, "no worker holds the row: folding the writes need not bump it")
	assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1`, key.AccountID.String()))
}

func TestEnqueueBumpsWhatNeedsIt(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	ctx := context.Background()
	t.Run("a row a worker holds counts every write, so the worker's result is known outdated", func(t *testing.T) {
		key := CustomerKey{AccountID: uuid.New(), SourceID: uuid.New(), CustomerID: "held"}
		enqueue(t, db, key)
		_, err := db.SQL.ExecContext(ctx, `UPDATE recalc_queue SET locked_by = 'w', locked_until = now() + interval '1 minute' WHERE account_id = $1`, key.AccountID)
		require.NoError(t, err)
		for range 3 {
			enqueue(t, db, key)
		}
		row, _ := queued(t, db, key)
		assert.EqualValues(t, 4, row.version)
	})
	t.Run("a row waiting out a backoff becomes due", func(t *testing.T) {
		key := CustomerKey{AccountID: uuid.New(), SourceID: uuid.New(), CustomerID: "backoff"}
		enqueue(t, db, key)
		_, err := db.SQL.ExecContext(ctx, `UPDATE recalc_queue SET run_at = now() + interval '1 hour' WHERE account_id = $1`, key.AccountID)
		require.NoError(t, err)
		enqueue(t, db, key)
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM recalc_queue WHERE account_id = $1 AND run_at <= now()`, key.AccountID.String()))
	})
}

func TestEnqueueRollbackQueuesNothing(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	ctx := context.Background()
	key := CustomerKey{AccountID: uuid.New(), SourceID: uuid.New(), CustomerID: "cus_1"}
	tx := db.Gorm.Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, Enqueue(ctx, tx, []CustomerKey{key}))
	require.NoError(t, tx.Rollback().Error)
	_, err := fold(ctx, db)
	require.NoError(t, err)
	_, ok := queued(t, db, key)
	assert.False(t, ok)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_outbox WHERE account_id = $1`, key.AccountID.String()))
}

func TestEnqueueKeys(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	a, b, src := uuid.New(), uuid.New(), uuid.New()
	tests := []struct {
		name  string
		calls [][]CustomerKey
		want  map[CustomerKey]int64 // versions
	}{
		{
			name: "same source and customer ids in two accounts are two customers",
			calls: [][]CustomerKey{{
				{AccountID: a, SourceID: src, CustomerID: "cus_x"},
				{AccountID: b, SourceID: src, CustomerID: "cus_x"},
			}},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: "cus_x"}: 1,
				{AccountID: b, SourceID: src, CustomerID: "cus_x"}: 1,
			},
		},
		{
			name: "duplicates in one call count once",
			calls: [][]CustomerKey{{
				{AccountID: a, SourceID: src, CustomerID: "cus_d"},
				{AccountID: a, SourceID: src, CustomerID: "cus_c"},
				{AccountID: a, SourceID: src, CustomerID: "cus_d"},
			}},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: "cus_d"}: 1,
				{AccountID: a, SourceID: src, CustomerID: "cus_c"}: 1,
			},
		},
		{
			name: "a second call on unclaimed rows leaves them queued once",
			calls: [][]CustomerKey{
				{{AccountID: a, SourceID: src, CustomerID: "cus_e"}, {AccountID: a, SourceID: src, CustomerID: "cus_f"}},
				{{AccountID: a, SourceID: src, CustomerID: "cus_f"}},
			},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: "cus_e"}: 1,
				{AccountID: a, SourceID: src, CustomerID: "cus_f"}: 1,
			},
		},
		{
			name:  "non-ASCII and case-different ids are distinct customers",
			calls: [][]CustomerKey{{{AccountID: a, SourceID: src, CustomerID: "Zoë"}, {AccountID: a, SourceID: src, CustomerID: "zoë"}}},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: "Zoë"}: 1,
				{AccountID: a, SourceID: src, CustomerID: "zoë"}: 1,
			},
		},
		{
			name: "ids an array literal quotes or escapes arrive as written",
			calls: [][]CustomerKey{{
				{AccountID: a, SourceID: src, CustomerID: `q"uote`}, {AccountID: a, SourceID: src, CustomerID: `back\slash`},
				{AccountID: a, SourceID: src, CustomerID: "{a,b}"}, {AccountID: a, SourceID: src, CustomerID: "NULL"},
				{AccountID: a, SourceID: src, CustomerID: " spaced "}, {AccountID: a, SourceID: src, CustomerID: `\"`},
			}},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: `q"uote`}: 1, {AccountID: a, SourceID: src, CustomerID: `back\slash`}: 1,
				{AccountID: a, SourceID: src, CustomerID: "{a,b}"}: 1, {AccountID: a, SourceID: src, CustomerID: "NULL"}: 1,
				{AccountID: a, SourceID: src, CustomerID: " spaced "}: 1, {AccountID: a, SourceID: src, CustomerID: `\"`}: 1,
			},
		},
		{
			name: "keys of two sources interleaved queue each under its own",
			calls: [][]CustomerKey{{
				{AccountID: a, SourceID: src, CustomerID: "cus_g"}, {AccountID: b, SourceID: src, CustomerID: "cus_h"},
				{AccountID: a, SourceID: src, CustomerID: "cus_h"}, {AccountID: b, SourceID: src, CustomerID: "cus_h"},
			}},
			want: map[CustomerKey]int64{
				{AccountID: a, SourceID: src, CustomerID: "cus_g"}: 1, {AccountID: b, SourceID: src, CustomerID: "cus_h"}: 1,
				{AccountID: a, SourceID: src, CustomerID: "cus_h"}: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, keys := range tt.calls {
				enqueue(t, db, keys...)
			}
			for key, version := range tt.want {
				row, ok := queued(t, db, key)
				require.True(t, ok, "%v queued", key)
				assert.Equal(t, version, row.version, "%v", key)
			}
		})
	}
}

func TestEnqueueDoesNotReorderCallersKeys(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	acc, src := uuid.New(), uuid.New()
	keys := []CustomerKey{{AccountID: acc, SourceID: src, CustomerID: "b"}, {AccountID: acc, SourceID: src, CustomerID: "a"}, {AccountID: acc, SourceID: src, CustomerID: "b"}}
	want := append([]CustomerKey(nil), keys...)
	enqueue(t, db, keys...)
	assert.Equal(t, want, keys)
}

func TestEnqueueNoKeysRunsNoStatement(t *testing.T) {
	t.Parallel()
	// A GORM session on a closed pool: any statement Enqueue ran would fail.
	pool := stdlib.OpenDB(pgx.ConnConfig{})
	require.NoError(t, pool.Close())
	closed, err := gorm.Open(postgres.New(postgres.Config{Conn: pool}), &gorm.Config{DisableAutomaticPing: true})
	require.NoError(t, err)
	require.NoError(t, Enqueue(context.Background(), closed, nil))
	require.NoError(t, Enqueue(context.Background(), closed, []CustomerKey{}))
	require.Error(t, Enqueue(context.Background(), closed, []CustomerKey{{CustomerID: "x"}}), "the session must refuse statements")
}

func TestKeyOrderMatchesPostgresOrder(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	// The deadlock argument needs Go's key order and ORDER BY ... COLLATE "C" to agree.
	var keys []CustomerKey
	ids := []string{"a", "B", "b", "Zoë", "zoë", "é", "e", "a b", "a-b", "ab", "", "z\u00ff", "日本"}
	uuids := []uuid.UUID{uuid.New(), uuid.New(), uuid.MustParse("80000000-0000-0000-0000-000000000000"),
		uuid.MustParse("7fffffff-ffff-ffff-ffff-ffffffffffff")}
	for _, u := range uuids {
		for _, id := range ids {
			keys = append(keys, CustomerKey{AccountID: u, SourceID: uuids[len(id)%len(uuids)], CustomerID: id})
		}
	}
	goOrder := slices.Clone(keys)
	slices.SortFunc(goOrder, compareKeys)
	goOrder = slices.CompactFunc(goOrder, func(a, b CustomerKey) bool { return compareKeys(a, b) == 0 })
	accounts := make([][16]byte, len(keys))
	for i, k := range keys {
		accounts[i] = k.AccountID
	}
	a := arraysOf(keys)
	rows, err := db.SQL.QueryContext(context.Background(), `
		SELECT * FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
		    AS u(account_id, source_id, customer_id)) q
		ORDER BY `+keyOrder("q"), accounts, a.sources, a.customers)
	require.NoError(t, err)
	defer rows.Close()
	var pgOrder []CustomerKey
	for rows.Next() {
		var k CustomerKey
		require.NoError(t, rows.Scan(&k.AccountID, &k.SourceID, &k.CustomerID))
		pgOrder = append(pgOrder, k)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, goOrder, pgOrder)
}
