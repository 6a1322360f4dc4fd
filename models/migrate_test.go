package models_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// tables lists the schema's tables, to compare runs.
func tables(t *testing.T, db *models.DB) []string {
	var names []string
	require.NoError(t, db.Gorm.Raw(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name NOT IN ('goose_db_version', 'goose_lock') ORDER BY 1`).Scan(&names).Error)
	return names
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := []string{"accounts", "api_keys", "customer_metric_schedule", "customer_metrics", "customer_mrr_history", "customers",
		"data_sources", "idempotency_keys", "import_errors", "imports", "invoices", "plans",
		"recalc_import_progress", "recalc_outbox", "recalc_queue", "webhook_deliveries", "webhook_endpoints",
		"webhook_events"}

	t.Run("from empty, then again as a no-op", func(t *testing.T) {
		t.Parallel()
		db, err := models.Open(ctx, dbtest.NewEmptyDatabase(t))
		require.NoError(t, err)
		defer db.Close()
		require.Empty(t, tables(t, db))
		require.NoError(t, models.Migrate(ctx, db.SQL))
		require.Equal(t, want, tables(t, db))
		var applied int
		require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied).Error)
		require.NoError(t, models.Migrate(ctx, db.SQL))
		var again int
		require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&again).Error)
		require.Equal(t, applied, again, "a second run applies nothing")
	})

	t.Run("concurrent runs migrate once", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewEmptyDatabase(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := models.Open(ctx, url)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				errs[i] = models.Migrate(ctx, db.SQL)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		db, err := models.Open(ctx, url)
		require.NoError(t, err)
		defer db.Close()
		require.Equal(t, want, tables(t, db))
		var rows int
		require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM goose_db_version WHERE version_id = 1`).Scan(&rows).Error)
		require.Equal(t, 1, rows, "migration 1 recorded once")
	})
}

func TestEnsureDatabaseCreatesMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.NewEmptyDatabase(t)
	db, err := models.Open(ctx, url)
	require.NoError(t, err)
	var name string
	require.NoError(t, db.Gorm.Raw(`SELECT current_database()`).Scan(&name).Error)
	db.Close()
	// Drop it, then EnsureDatabase must bring it back (twice is fine).
	admin, err := models.Open(ctx, dbtest.ServerURL())
	require.NoError(t, err)
	defer admin.Close()
	require.NoError(t, admin.Gorm.Exec(`DROP DATABASE "`+name+`" WITH (FORCE)`).Error)
	require.NoError(t, models.EnsureDatabase(ctx, url))
	require.NoError(t, models.EnsureDatabase(ctx, url))
	db, err = models.Open(ctx, url)
	require.NoError(t, err)
	db.Close()
}
