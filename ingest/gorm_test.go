package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// The write path runs through GORM's own transaction, whatever GORM is configured with: with
// PrepareStmt, GORM hands out its own prepared-statement transaction type, which code reaching
// for GORM's internals (a *sql.Tx) would not find.
func TestWritesThroughGormWithPreparedStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := dbtest.DB(t)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: base.SQL}), &gorm.Config{
		PrepareStmt: true, SkipDefaultTransaction: true, Logger: logger.Discard})
	require.NoError(t, err)
	db := &models.DB{Gorm: g, SQL: base.SQL}
	acc, _, err := db.CreateAccount(ctx, "prepared")
	require.NoError(t, err)
	src, _, err := db.CreateDataSource(ctx, acc.ID, "s")
	require.NoError(t, err)
	svc := &ingest.Service{DB: db, ChunkSize: 50}

	res, err := svc.Customers(ctx, acc.ID, raws(`{"id": "c", "data_source": "s"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Inserted}, statuses(res), res)
	var rows []string
	for i := range 100 { // large enough to be sampled
		rows = append(rows, fmt.Sprintf(`{"id": "i%d", "customer_id": "c", "data_source": "s", "type": "one-time",
			"date": "2024-01-01", "amount_cents": 100, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`, i))
	}
	for _, want := range []ingest.Status{ingest.Inserted, ingest.Unchanged} {
		res, err = svc.Invoices(ctx, acc.ID, raws(rows...), ingest.Options{})
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, want, r.Status, r)
		}
	}
	changed := strings.Replace(rows[0], `"amount_cents": 100`, `"amount_cents": 200`, 1)
	ghost := strings.Replace(rows[1], `"customer_id": "c"`, `"customer_id": "ghost"`, 1)
	res, err = svc.Invoices(ctx, acc.ID, raws(changed, ghost), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Updated, ingest.Failed}, statuses(res), res)
	require.Equal(t, "customer_id", res[1].Errors[0].Field)

	inv, err := svc.Archive(ctx, acc.ID, src.ID, "i0")
	require.NoError(t, err)
	require.NotNil(t, inv.ArchivedAt)
	inv, err = svc.Restore(ctx, acc.ID, src.ID, "i0")
	require.NoError(t, err)
	require.Nil(t, inv.ArchivedAt)
	require.Equal(t, int64(200), inv.AmountCents)
}
