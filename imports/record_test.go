package imports_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// TestRecordAndRead records a JSON import with error rows beyond the limit, and a stream's chunks,
// and reads them back.
func TestRecordAndRead(t *testing.T) {
	db := dbtest.DB(t)
	ctx := context.Background()
	acc, _, err := db.CreateAccount(ctx, "a")
	require.NoError(t, err)
	h := imports.Header{AccountID: acc.ID, ID: uuid.New(), KeyID: uuid.New(), Entity: "invoices", ContentType: "application/json",
		StartedAt: time.Now().UTC().Truncate(time.Microsecond)}
	b := imports.Batch{Counts: imports.Counts{Rows: 3, Inserted: 1, Errors: 2}, Sources: []uuid.UUID{uuid.New()},
		ErrorRows: []imports.ErrorRow{{Index: 1, ID: "x", Line: []byte(`{"index":1`), Raw: []byte(`{"a":1}`), RawJSON: true},
			{Index: 2, Line: []byte(`{"index":2`), Raw: []byte("\x00\xff"), RawJSON: false}}}
	require.NoError(t, imports.RecordRequest(db.Gorm.WithContext(ctx), h, b))
	got, err := imports.Get(ctx, db.Gorm, acc.ID, h.ID)
	require.NoError(t, err)
	require.Equal(t, imports.Completed, got.Status)
	require.Equal(t, b.Counts, got.Counts)
	require.NotNil(t, got.Metrics.CaughtUpAt)
	var lines []imports.ErrorRow
	require.NoError(t, imports.ErrorRows(ctx, db.Gorm, acc.ID, h.ID, func(r imports.ErrorRow) error {
		r.Line = append([]byte(nil), r.Line...)
		lines = append(lines, r)
		return nil
	}))
	require.Equal(t, b.ErrorRows, lines)

	s := h
	s.ID = uuid.New()
	require.NoError(t, imports.Begin(ctx, db.Gorm, s))
	for range 3 {
		require.NoError(t, imports.RecordChunk(db.Gorm.WithContext(ctx), s, imports.Batch{Counts: imports.Counts{Rows: 2, Unchanged: 2}}))
	}
	got, err = imports.Get(ctx, db.Gorm, acc.ID, s.ID)
	require.NoError(t, err)
	require.Equal(t, imports.Running, got.Status)
	require.Nil(t, got.Metrics.CaughtUpAt)
	require.EqualValues(t, 6, got.Counts.Unchanged)
}

// TestChunkRecordStaysOnTheIndexAsImportsGrows records a stream's chunks on one connection while
// imports, vacuumed empty, fills with other imports (no ANALYZE in between, as with autovacuum
// off): each chunk's update must still find its import row by key, not read the table.
func TestChunkRecordStaysOnTheIndexAsImportsGrows(t *testing.T) {
	ctx := context.Background()
	db, err := models.Open(ctx, dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	acc, _, err := db.CreateAccount(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, db.Gorm.Exec("VACUUM ANALYZE imports").Error)

	h := imports.Header{AccountID: acc.ID, ID: uuid.New(), KeyID: uuid.New(), Entity: "invoices",
		ContentType: "application/x-ndjson", StartedAt: time.Now().UTC()}
	chunk := imports.Batch{Counts: imports.Counts{Rows: 1, Inserted: 1}}
	seqScans := func(tx *gorm.DB) (n int64) {
		require.NoError(t, tx.Raw(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'imports'`).Scan(&n).Error)
		return n
	}
	require.NoError(t, models.Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
		require.NoError(t, imports.Begin(ctx, tx, h))
		for range 10 { // more than the five runs after which PostgreSQL may settle on a cached plan
			require.NoError(t, imports.RecordChunk(tx, h, chunk))
		}
		require.NoError(t, tx.Exec(`INSERT INTO imports (account_id, id, entity, status, dry_run, content_type, key_id, started_at, heartbeat_at)
			SELECT ?, gen_random_uuid(), 'invoices', 'completed', false, 'application/json', ?, now(), now()
			FROM generate_series(1, 5000)`, acc.ID, h.KeyID).Error)

		before := seqScans(tx)
		require.NoError(t, imports.RecordChunk(tx, h, chunk))
		require.Equal(t, before, seqScans(tx), "the chunk's update read the imports table")
		return nil
	}))
	got, err := imports.Get(ctx, db.Gorm, acc.ID, h.ID)
	require.NoError(t, err)
	require.EqualValues(t, 11, got.Counts.Inserted)
}
