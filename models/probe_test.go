package models_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// TestProbeStaysOnTheIndexAsAnEmptiedTableGrows is the state a bulk load meets after a TRUNCATE:
// invoices vacuumed while empty (PostgreSQL then believes it holds nothing), a connection that
// probes it a few times, then rows arriving with no ANALYZE in between (autovacuum off, or not
// yet run). A plan cached for the connection at that point would read the whole table for every
// key of every later batch; each probe must still look its keys up in the primary key.
func TestProbeStaysOnTheIndexAsAnEmptiedTableGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := models.Open(ctx, dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	f := newCopyFixtureIn(t, db)
	require.NoError(t, db.Gorm.Exec("VACUUM ANALYZE invoices").Error)

	rows := copyRows()
	ids, raw := rows.IDs[:100], rows.Raw[:100]
	seqScans := func(tx *gorm.DB) (n int64) {
		require.NoError(t, tx.Raw(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'invoices'`).Scan(&n).Error)
		return n
	}
	require.NoError(t, models.Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
		for range 10 { // more than the five runs after which PostgreSQL may settle on a cached plan
			got, err := models.ProbeStored(ctx, tx, models.Invoices, f.account, f.inserted, ids, raw)
			require.NoError(t, err)
			require.Equal(t, models.Absent, got[0].State)
		}
		_, err := models.InsertNewInvoices(ctx, tx, f.account, f.inserted, models.Now(), rows)
		require.NoError(t, err)

		before := seqScans(tx)
		got, err := models.ProbeStored(ctx, tx, models.Invoices, f.account, f.inserted, ids, raw)
		require.NoError(t, err)
		require.Equal(t, models.SameText, got[0].State, "the stored row, byte-identical")
		require.Equal(t, before, seqScans(tx), "the probe of %d keys scanned the table", len(ids))
		return nil
	}))
}
