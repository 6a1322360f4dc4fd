package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// copyFixture is an account with two data sources holding the same customer and plan.
type copyFixture struct {
	db              *models.DB
	account         uuid.UUID
	inserted, copid uuid.UUID
}

func newCopyFixture(t *testing.T) copyFixture { return newCopyFixtureIn(t, dbtest.DB(t)) }

// newCopyFixtureIn is newCopyFixture in the database db.
func newCopyFixtureIn(t *testing.T, db *models.DB) copyFixture {
	ctx := context.Background()
	acc, _, err := db.CreateAccount(ctx, "copy")
	require.NoError(t, err)
	f := copyFixture{db: db, account: acc.ID}
	for _, s := range []*uuid.UUID{&f.inserted, &f.copid} {
		src, _, err := db.CreateDataSource(ctx, acc.ID, "s"+uuid.NewString()[:8])
		require.NoError(t, err)
		*s = src.ID
		require.NoError(t, models.Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
			hashes := models.RowHashes{Content: [][]byte{{1}}, Raw: [][]byte{{2}}}
			if _, err := models.UpsertCustomers(ctx, tx, acc.ID, src.ID, models.Now(), models.CustomerColumns{
				IDs: []string{"cus_é"}, Names: []string{""}, Emails: []string{""}, Companies: []string{""},
				Countries: []string{""}, RowHashes: hashes}); err != nil {
				return err
			}
			_, err := models.UpsertPlans(ctx, tx, acc.ID, src.ID, models.Now(), models.PlanColumns{
				IDs: []string{"plan_m"}, Names: []string{"M"}, IntervalUnits: []string{"month"},
				IntervalCounts: []int32{1}, RowHashes: hashes})
			return err
		}))
	}
	return f
}

// Invoices of every shape a row can take: NULL and set optional fields, a date before 2000 with
// microseconds, a negative amount, non-ASCII text; then plain ones, so that COPY takes several
// statements (models.copyRows).
func copyRows() models.InvoiceColumns {
	v := oddRows()
	for i := range 600 {
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		v.IDs, v.CustomerIDs = append(v.IDs, fmt.Sprintf("inv_p%03d", i)), append(v.CustomerIDs, "cus_é")
		v.Types, v.Currencies = append(v.Types, "one-time"), append(v.Currencies, "USD")
		v.PlanIDs, v.SubscriptionIDs = append(v.PlanIDs, ""), append(v.SubscriptionIDs, "")
		v.Dates, v.StartDates, v.EndDates = append(v.Dates, at), append(v.StartDates, at), append(v.EndDates, at)
		v.AmountCents, v.Quantities, v.Discounts = append(v.AmountCents, int64(i)), append(v.Quantities, nil), append(v.Discounts, nil)
		v.Content, v.Raw = append(v.Content, []byte{byte(i)}), append(v.Raw, []byte{byte(i >> 8), byte(i)})
	}
	return v
}

func oddRows() models.InvoiceColumns {
	q, d := int64(3), int64(-250)
	old := time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)
	now := time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC)
	return models.InvoiceColumns{
		IDs: []string{"inv_1", "inv_2", "inv_ü"}, CustomerIDs: []string{"cus_é", "cus_é", "cus_é"},
		Types: []string{"subscription", "one-time", "refund"}, Currencies: []string{"USD", "EUR", "JPY"},
		PlanIDs: []string{"plan_m", "", ""}, SubscriptionIDs: []string{"sub_1", "", "sub_ß"},
		Dates: []time.Time{old, now, now}, StartDates: []time.Time{old, now, old}, EndDates: []time.Time{now, now, now},
		AmountCents: []int64{9900, 0, -1 << 40}, Quantities: []*int64{&q, nil, nil}, Discounts: []*int64{nil, &d, nil},
		RowHashes: models.RowHashes{Content: [][]byte{{1, 2}, {3}, {0, 0, 0}}, Raw: [][]byte{{9}, {8, 7}, {}}},
	}
}

// stored reads every column of a source's invoices but the source, in id order, as text.
func (f copyFixture) stored(t *testing.T, source uuid.UUID) [][]string {
	rows, err := f.db.SQL.Query(`SELECT concat_ws('|', account_id, id, customer_id, type, date, amount_cents, currency,
		coalesce(plan_id, 'NULL'), coalesce(subscription_id, 'NULL'), start_date, end_date,
		coalesce(quantity::text, 'NULL'), coalesce(discount::text, 'NULL'), content_hash, raw_hash, archived_at,
		created_at, updated_at)
		FROM invoices WHERE account_id = $1 AND source_id = $2 ORDER BY id`, f.account, source)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, []string{s})
	}
	require.NoError(t, rows.Err())
	return out
}

// COPY stores exactly what the INSERT it replaces stores, and answers every row inserted.
func TestCopyNewInvoicesStoresWhatInsertStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newCopyFixture(t)
	now := models.Now()
	var inserted, copied models.Written
	require.NoError(t, models.Transaction(ctx, f.db.Gorm, func(tx *gorm.DB) (err error) {
		inserted, err = models.InsertNewInvoices(ctx, tx, f.account, f.inserted, now, copyRows())
		return err
	}))
	require.NoError(t, models.WriteTransaction(ctx, f.db.Gorm, func(tx *gorm.DB) (err error) {
		copied, err = models.CopyNewInvoices(ctx, tx, f.account, f.copid, now, copyRows())
		return err
	}))
	want := models.Written{}
	for _, id := range copyRows().IDs {
		want[id] = true
	}
	require.Len(t, want, 603)
	require.Equal(t, want, inserted)
	require.Equal(t, want, copied)
	require.Len(t, f.stored(t, f.inserted), 603)
	require.Equal(t, f.stored(t, f.inserted), f.stored(t, f.copid))
}

// A key stored after all makes COPY fail with ErrCopyRefused and leaves nothing of its
// transaction; outside a WriteTransaction the same call is the INSERT that skips stored keys.
func TestCopyNewInvoicesRefusesAStoredKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newCopyFixture(t)
	now := models.Now()
	one := oddRows()
	one.IDs[0], one.IDs[1], one.IDs[2] = "inv_2", "inv_x", "inv_y"
	require.NoError(t, models.WriteTransaction(ctx, f.db.Gorm, func(tx *gorm.DB) error {
		_, err := models.CopyNewInvoices(ctx, tx, f.account, f.copid, now, oddRows())
		return err
	}))
	before := f.stored(t, f.copid)

	err := models.WriteTransaction(ctx, f.db.Gorm, func(tx *gorm.DB) error {
		_, err := models.CopyNewInvoices(ctx, tx, f.account, f.copid, now, one)
		return err
	})
	require.ErrorIs(t, err, models.ErrCopyRefused)
	require.Equal(t, before, f.stored(t, f.copid))

	var written models.Written
	require.NoError(t, models.Transaction(ctx, f.db.Gorm, func(tx *gorm.DB) (err error) {
		written, err = models.CopyNewInvoices(ctx, tx, f.account, f.copid, now, one)
		return err
	}))
	require.Equal(t, models.Written{"inv_x": true, "inv_y": true}, written)
}
