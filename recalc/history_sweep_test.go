package recalc

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/validation"
)

// History's one-pass sweep gives exactly what computing every event month with Compute gives,
// on random customers: mixed currencies, periods starting and ending mid-month or on month
// starts, yearly and zero-length periods, cancellations with and without a subscription id,
// other invoice types, and calculation instants before, inside and after the invoices' span.
func TestHistorySweepMatchesCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	instant := func() time.Time {
		if rng.IntN(3) == 0 { // on a month start
			return base.AddDate(0, rng.IntN(48), 0)
		}
		return base.Add(time.Duration(rng.Int64N(int64(4 * 365 * 24 * time.Hour))))
	}
	for n := range 2000 {
		var invoices []Invoice
		for range 1 + rng.IntN(12) {
			start := instant()
			inv := Invoice{Type: validation.TypeSubscription, Currency: []string{"USD", "EUR"}[rng.IntN(2)],
				AmountCents: rng.Int64N(100_000), StartDate: start, Date: start,
				SubscriptionID: []string{"", "s1", "s2"}[rng.IntN(3)]}
			inv.DiscountCents = rng.Int64N(inv.AmountCents/2 + 1)
			switch rng.IntN(4) {
			case 0:
				inv.EndDate = start.AddDate(1, 0, 0)
			case 1:
				inv.EndDate = start
			default:
				inv.EndDate = start.AddDate(0, 1+rng.IntN(3), 0)
			}
			switch rng.IntN(6) {
			case 0:
				inv.Type, inv.Date = validation.TypeCancellation, instant()
			case 1:
				inv.Type = validation.TypeOneTime
			}
			invoices = append(invoices, inv)
		}
		at := instant()
		events, ok := mrrEvents(invoices)
		require.True(t, ok)
		gotChanges, gotNext := historyFromEvents(events, at)
		wantChanges, wantNext := historyByCompute(invoices, at)
		require.Equal(t, wantChanges, gotChanges, "case %d at %s: %+v", n, at, invoices)
		require.True(t, wantNext.Equal(gotNext), "case %d: next %s, want %s", n, gotNext, wantNext)
	}
}

// Amounts whose sums could leave the int64 range take the month-by-month path, which saturates
// as Compute does.
func TestHistoryHugeAmountsFallBack(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	huge := Invoice{Type: validation.TypeSubscription, Currency: "USD", AmountCents: 1 << 62,
		StartDate: start, EndDate: start.AddDate(0, 1, 0), Date: start}
	invoices := []Invoice{huge, huge, huge}
	_, ok := mrrEvents(invoices)
	require.False(t, ok)
	changes, _ := History(invoices, start.AddDate(0, 2, 0))
	ms, _ := Compute(invoices, start)
	require.Equal(t, ms[0].MRRCents, changes[0].MRRCents)
}
