package imports_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/imports"
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
