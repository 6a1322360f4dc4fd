package models_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// readsFixture is an account with one source and one customer, to hang invoices on.
type readsFixture struct {
	db      *models.DB
	account uuid.UUID
	source  uuid.UUID
}

func newReadsFixture(t *testing.T) readsFixture {
	t.Helper()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(ctx, "reads")
	require.NoError(t, err)
	src, _, err := db.CreateDataSource(ctx, acc.ID, "stripe")
	require.NoError(t, err)
	f := readsFixture{db: db, account: acc.ID, source: src.ID}
	require.NoError(t, db.Gorm.Create(&models.Customer{AccountID: acc.ID, SourceID: src.ID, ID: "cus_1", ContentHash: []byte{1}}).Error)
	return f
}

// invoices inserts invoices with the given ids and dates.
func (f readsFixture) invoices(t *testing.T, ids []string, dates []time.Time) {
	t.Helper()
	rows := make([]models.Invoice, len(ids))
	for i, id := range ids {
		rows[i] = models.Invoice{
			AccountID: f.account, SourceID: f.source, ID: id, CustomerID: "cus_1", Type: "one-time",
			Date: dates[i], AmountCents: 100, Currency: "USD", StartDate: dates[i], EndDate: dates[i],
			ContentHash: []byte{1},
		}
	}
	require.NoError(t, f.db.Gorm.Create(&rows).Error)
}

// walk follows next cursors from the first page, calling between after each page.
func (f readsFixture) walk(t *testing.T, limit int, between func(page int)) []string {
	t.Helper()
	var seen []string
	cur := ""
	for page := 0; ; page++ {
		list, next, more, err := f.db.ListInvoices(context.Background(), f.account, f.source, models.InvoiceFilter{}, models.Page{Limit: limit, Cursor: cur})
		require.NoError(t, err)
		require.LessOrEqual(t, len(list), limit)
		for _, inv := range list {
			seen = append(seen, inv.ID)
		}
		if !more {
			require.Empty(t, next)
			return seen
		}
		require.Len(t, list, limit, "a page before the last is full")
		require.NotEmpty(t, next)
		cur = next
		if between != nil {
			between(page)
		}
	}
}

// base is a date with microseconds, which the cursor must carry exactly.
var base = time.Date(2024, 7, 1, 12, 30, 15, 123456000, time.UTC)

func TestListInvoicesKeyset(t *testing.T) {
	t.Parallel()

	t.Run("walk visits every row once in date DESC, id ASC order, ties included", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t)
		var ids []string
		var dates []time.Time
		for i := range 100 {
			ids = append(ids, fmt.Sprintf("inv_%04d", (i*37)%100)) // ids not in date order
			dates = append(dates, base.Add(time.Duration(i%6)*time.Microsecond))
		}
		f.invoices(t, ids, dates)
		type row struct {
			id string
			d  time.Time
		}
		want := make([]row, len(ids))
		for i := range ids {
			want[i] = row{ids[i], dates[i]}
		}
		slices.SortFunc(want, func(a, b row) int {
			if c := b.d.Compare(a.d); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		var wantIDs []string
		for _, r := range want {
			wantIDs = append(wantIDs, r.id)
		}
		for _, limit := range []int{1, 7, 16, 99, 100, 1000} {
			require.Equal(t, wantIDs, f.walk(t, limit, nil), "limit %d", limit)
		}
	})

	t.Run("rows inserted during the walk do not disturb it", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t)
		var ids []string
		var dates []time.Time
		for i := range 50 {
			ids = append(ids, fmt.Sprintf("inv_%04d", i))
			dates = append(dates, base.Add(time.Duration(i/5)*time.Hour))
		}
		f.invoices(t, ids, dates)
		n := 0
		seen := f.walk(t, 6, func(page int) {
			// Newer, older and tied rows, with ids before and after the tied ones.
			var newIDs []string
			var newDates []time.Time
			for _, d := range []time.Time{base.Add(100 * time.Hour), base.Add(-time.Hour), base.Add(time.Duration(page%10) * time.Hour)} {
				for _, prefix := range []string{"inv_", "new_", "zzz_"} {
					n++
					newIDs = append(newIDs, fmt.Sprintf("%s%04d_%d", prefix, n, page))
					newDates = append(newDates, d)
				}
			}
			f.invoices(t, newIDs, newDates)
		})
		counts := map[string]int{}
		for _, id := range seen {
			counts[id]++
		}
		for _, id := range ids {
			require.Equal(t, 1, counts[id], "original %s seen once", id)
		}
		for id, c := range counts {
			require.Equal(t, 1, c, "%s seen once", id)
		}
	})

	t.Run("other sources and accounts are not listed", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t)
		g := newReadsFixture(t)
		f.invoices(t, []string{"inv_a"}, []time.Time{base})
		g.invoices(t, []string{"inv_b"}, []time.Time{base})
		list, _, _, err := f.db.ListInvoices(context.Background(), f.account, g.source, models.InvoiceFilter{}, models.Page{})
		require.NoError(t, err)
		require.Empty(t, list, "another account's source id yields nothing")
		_, err = f.db.GetInvoice(context.Background(), f.account, g.source, "inv_b")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	})
}

func TestReadsRejectBadPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newReadsFixture(t)
	f.invoices(t, []string{"inv_1", "inv_2"}, []time.Time{base, base})
	require.NoError(t, f.db.Gorm.Create(&models.Customer{AccountID: f.account, SourceID: f.source, ID: "cus_2", ContentHash: []byte{1}}).Error)

	_, invCursor, more, err := f.db.ListInvoices(ctx, f.account, f.source, models.InvoiceFilter{}, models.Page{Limit: 1})
	require.NoError(t, err)
	require.True(t, more)
	_, cusCursor, more, err := f.db.ListCustomers(ctx, f.account, f.source, models.Page{Limit: 1})
	require.NoError(t, err)
	require.True(t, more)

	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name     string
		cursor   string
		invoices bool
	}{
		{"not base64", "!!!", true},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"i":"xy"}`)), false},
		{"not json", b64("hello"), true},
		{"json array", b64(`["x"]`), false},
		{"empty id", b64(`{"i":""}`), false},
		{"unknown field", b64(`{"i":"x","z":1}`), false},
		{"trailing data", b64(`{"i":"x"} {}`), false},
		{"date as string", b64(`{"d":"2024-01-01","i":"x"}`), true},
		{"customer cursor on invoices", cusCursor, true},
		{"invoice cursor on customers", invCursor, false},
		{"too long", strings.Repeat("A", 5000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.invoices {
				_, _, _, err = f.db.ListInvoices(ctx, f.account, f.source, models.InvoiceFilter{}, models.Page{Cursor: tc.cursor})
			} else {
				_, _, _, err = f.db.ListCustomers(ctx, f.account, f.source, models.Page{Cursor: tc.cursor})
			}
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
			require.Equal(t, "Invalid cursor.", models.ErrorMessage(err))
		})
	}

	for _, limit := range []int{-1, models.MaxPageLimit + 1} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			_, _, _, err := f.db.ListPlans(ctx, f.account, f.source, models.Page{Limit: limit})
			require.Equal(t, models.EINVALID, models.ErrorCode(err))
		})
	}
	t.Run("limit 0 is the default", func(t *testing.T) {
		list, next, more, err := f.db.ListInvoices(ctx, f.account, f.source, models.InvoiceFilter{}, models.Page{})
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.False(t, more)
		require.Empty(t, next)
	})
}
