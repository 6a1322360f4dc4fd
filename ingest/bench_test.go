package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm/clause"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/validation"
)

// benchTenant is an account with a source and 1,000 customers.
type benchTenant struct {
	svc     *ingest.Service
	db      *models.DB
	account uuid.UUID
	source  models.DataSource
}

func newBenchTenant(tb testing.TB) benchTenant {
	tb.Helper()
	ctx := context.Background()
	db := dbtest.DB(tb)
	acc, _, err := db.CreateAccount(ctx, "bench")
	require.NoError(tb, err)
	src, _, err := db.CreateDataSource(ctx, acc.ID, "stripe")
	require.NoError(tb, err)
	svc := &ingest.Service{DB: db}
	customers := make([]json.RawMessage, 1000)
	for i := range customers {
		customers[i] = json.RawMessage(fmt.Sprintf(`{"id": "cus_%d", "data_source": "stripe", "name": "Customer %d"}`, i, i))
	}
	_, err = svc.Customers(ctx, acc.ID, validation.Lines(customers), ingest.Options{})
	require.NoError(tb, err)
	return benchTenant{svc: svc, db: db, account: acc.ID, source: src}
}

// invoiceRows returns n realistic invoice rows with ids prefix-0..n-1; version changes the amounts.
func invoiceRows(prefix string, n, version int) validation.Rows {
	types := []string{"subscription", "subscription", "subscription", "one-time", "refund"}
	currencies := []string{"USD", "EUR", "GBP"}
	rows := make([]json.RawMessage, n)
	for i := range rows {
		start := time.Date(2024, time.Month(1+i%12), 1, 0, 0, 0, 0, time.UTC)
		rows[i] = json.RawMessage(fmt.Sprintf(`{"id": "%s-%d", "customer_id": "cus_%d", "data_source": "stripe",
			"type": %q, "date": %q, "amount_cents": %d, "currency": %q, "subscription_id": "sub_%d",
			"start_date": %q, "end_date": %q, "quantity": 1}`,
			prefix, i, i%1000, types[i%len(types)], start.Format(time.RFC3339), 1000+i%500+version,
			currencies[i%len(currencies)], i%1000, start.Format(time.RFC3339), start.AddDate(0, 1, 0).Format(time.RFC3339)))
	}
	return validation.Lines(rows)
}

func reportRows(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkInvoices measures the whole pipeline (parse, validate, resolve, compare, upsert,
// queue) on batches of 1k and 10k rows, next to GORM's CreateInBatches on the same rows.
func BenchmarkInvoices(b *testing.B) {
	tn := newBenchTenant(b)
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("insert/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				rows := invoiceRows(fmt.Sprintf("ins%d-%d", n, i), n, 0)
				b.StartTimer()
				_, err := tn.svc.Invoices(ctx, tn.account, rows, ingest.Options{})
				require.NoError(b, err)
			}
			reportRows(b, n)
		})
		b.Run(fmt.Sprintf("unchanged/%d", n), func(b *testing.B) {
			rows := invoiceRows(fmt.Sprintf("unc%d", n), n, 0)
			_, err := tn.svc.Invoices(ctx, tn.account, rows, ingest.Options{})
			require.NoError(b, err)
			for b.Loop() {
				_, err := tn.svc.Invoices(ctx, tn.account, rows, ingest.Options{})
				require.NoError(b, err)
			}
			reportRows(b, n)
		})
		b.Run(fmt.Sprintf("update/%d", n), func(b *testing.B) {
			versions := []validation.Rows{invoiceRows(fmt.Sprintf("upd%d", n), n, 0), invoiceRows(fmt.Sprintf("upd%d", n), n, 1)}
			_, err := tn.svc.Invoices(ctx, tn.account, versions[0], ingest.Options{})
			require.NoError(b, err)
			for i := 1; b.Loop(); i++ {
				_, err := tn.svc.Invoices(ctx, tn.account, versions[i%2], ingest.Options{})
				require.NoError(b, err)
			}
			reportRows(b, n)
		})
		b.Run(fmt.Sprintf("gorm-create-in-batches/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				rows := gormRows(tn, fmt.Sprintf("gorm%d-%d", n, i), n)
				b.StartTimer()
				err := tn.db.Gorm.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(rows, 1000).Error
				require.NoError(b, err)
			}
			reportRows(b, n)
		})
	}
}

// gormRows is the same data as invoiceRows, as GORM rows (what a hand-written loader would build).
func gormRows(tn benchTenant, prefix string, n int) []models.Invoice {
	types := []string{"subscription", "subscription", "subscription", "one-time", "refund"}
	currencies := []string{"USD", "EUR", "GBP"}
	now := models.Now()
	one := int64(1)
	rows := make([]models.Invoice, n)
	for i := range rows {
		start := time.Date(2024, time.Month(1+i%12), 1, 0, 0, 0, 0, time.UTC)
		sub := fmt.Sprintf("sub_%d", i%1000)
		rows[i] = models.Invoice{AccountID: tn.account, SourceID: tn.source.ID, ID: fmt.Sprintf("%s-%d", prefix, i),
			CustomerID: fmt.Sprintf("cus_%d", i%1000), Type: types[i%len(types)], Date: start,
			AmountCents: int64(1000 + i%500), Currency: currencies[i%len(currencies)], SubscriptionID: &sub,
			StartDate: start, EndDate: start.AddDate(0, 1, 0), Quantity: &one, ContentHash: []byte{0},
			CreatedAt: now, UpdatedAt: now}
	}
	return rows
}
