package models_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// BenchmarkMetricInvoices loads 1,000 customers' 10 invoices each, the recalculation's read of a
// batch: PostgreSQL's side and the scan into per-customer slices.
func BenchmarkMetricInvoices(b *testing.B) {
	ctx := context.Background()
	db, err := models.Open(ctx, dbtest.NewDatabase(b))
	require.NoError(b, err)
	defer db.Close()
	acc, src := uuid.New(), uuid.New()
	require.NoError(b, db.Gorm.Exec(`INSERT INTO accounts (id, name) VALUES (?, 'a')`, acc).Error)
	require.NoError(b, db.Gorm.Exec(`INSERT INTO data_sources (account_id, id, name) VALUES (?, ?, 's')`, acc, src).Error)
	require.NoError(b, db.Gorm.Exec(`INSERT INTO customers (account_id, source_id, id, content_hash, created_at, updated_at)
		SELECT ?, ?, 'c' || c, '\x00', now(), now() FROM generate_series(1, 1000) c`, acc, src).Error)
	require.NoError(b, db.Gorm.Exec(`INSERT INTO invoices (account_id, source_id, id, customer_id, type, date, amount_cents, currency,
		    subscription_id, start_date, end_date, content_hash, created_at, updated_at)
		SELECT ?, ?, 'i' || c || '_' || g, 'c' || c, 'subscription', now(), 100, 'USD', 's', now(), now(), '\x00', now(), now()
		FROM generate_series(1, 1000) c, generate_series(1, 10) g`, acc, src).Error)
	keys := make([]models.CustomerKey, 1000)
	for i := range keys {
		keys[i] = models.CustomerKey{AccountID: acc, SourceID: src, CustomerID: fmt.Sprintf("c%d", i+1)}
	}
	b.ReportAllocs()
	for b.Loop() {
		out, _, err := db.MetricInvoices(ctx, acc, keys, 50000)
		require.NoError(b, err)
		require.Len(b, out[999], 10)
	}
}
