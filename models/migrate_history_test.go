package models_test

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// historyText reads customer_mrr_history in its series layout (00013) as "customer currency month
// mrr change movement" lines.
const historyText = `
SELECT h.customer_id || ' ' || h.currency || ' ' || to_char(u.month, 'YYYY-MM') || ' ' || u.mrr || ' ' || u.change || ' ' || u.movement
FROM customer_mrr_history h, unnest(h.months, h.mrr_cents, h.change_cents, h.movements) AS u(month, mrr, change, movement)
ORDER BY h.customer_id, h.currency, u.month`

// Migration 00013 changes the history's layout from a row per month to a row per currency, and
// back on the way down, keeping every month a user already has.
func TestMigrationKeepsHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := models.Open(ctx, dbtest.NewEmptyDatabase(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db.SQL, models.Migrations())
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 12)
	require.NoError(t, err)
	rowsPerMonth := []string{"c1 EUR 2024-03 500 500 new", "c1 USD 2024-01 1000 1000 new",
		"c1 USD 2024-04 1500 500 expansion", "c1 USD 2024-07 0 -1500 churn", "c2 USD 2024-02 700 700 new"}
	_, err = db.SQL.ExecContext(ctx, `
		INSERT INTO customer_mrr_history (account_id, source_id, customer_id, currency, month, mrr_cents, change_cents, movement)
		SELECT '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', f[1], f[2], (f[3] || '-01')::date,
		       f[4]::bigint, f[5]::bigint, f[6]
		FROM unnest($1::text[]) AS l, string_to_array(l, ' ') AS f`, rowsPerMonth)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 13)
	require.NoError(t, err)
	var got []string
	require.NoError(t, db.Gorm.Raw(historyText).Scan(&got).Error)
	require.Equal(t, rowsPerMonth, got)
	var series int
	require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM customer_mrr_history`).Scan(&series).Error)
	require.Equal(t, 3, series, "one row per customer and currency")

	_, err = p.DownTo(ctx, 12)
	require.NoError(t, err)
	got = nil
	require.NoError(t, db.Gorm.Raw(`
		SELECT customer_id || ' ' || currency || ' ' || to_char(month, 'YYYY-MM') || ' ' || mrr_cents || ' ' || change_cents || ' ' || movement
		FROM customer_mrr_history ORDER BY customer_id, currency, month`).Scan(&got).Error)
	require.Equal(t, rowsPerMonth, got)
}
