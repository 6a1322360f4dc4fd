package recalc_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/recalc"
)

// metricsTime parses "YYYY-MM-DD" as midnight UTC, or an RFC 3339 timestamp with any offset.
func metricsTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	if len(s) == len("2006-01-02") {
		v, err := time.Parse(time.DateOnly, s)
		require.NoError(tb, err)
		return v
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(tb, err)
	return v
}

func TestMonths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		start, end string
		wantK      int
		wantCal    bool
	}{
		{"one month Jul 1 to Aug 1", "2024-07-01", "2024-08-01", 1, true},
		{"a year Jan 15 to Jan 15", "2024-01-15", "2025-01-15", 12, true},
		{"quarterly", "2024-01-01", "2024-04-01", 3, true},
		{"quarterly across a year end", "2023-11-15", "2024-02-15", 3, true},
		{"Jan 31 to Feb 29 in a leap year clamps", "2024-01-31", "2024-02-29", 1, true},
		{"Jan 31 to Feb 28 in a common year clamps", "2023-01-31", "2023-02-28", 1, true},
		{"Jan 30 to Feb 28 in a common year clamps", "2023-01-30", "2023-02-28", 1, true},
		{"Jan 30 to Feb 29 in a leap year clamps", "2024-01-30", "2024-02-29", 1, true},
		{"Mar 31 to Apr 30 clamps", "2024-03-31", "2024-04-30", 1, true},
		{"Jan 31 to Mar 31 keeps the day", "2024-01-31", "2024-03-31", 2, true},
		{"Mar 31 to Feb 29 next year clamps", "2023-03-31", "2024-02-29", 11, true},
		{"month-end anchor Feb 29 to Mar 31", "2024-02-29", "2024-03-31", 1, true},
		{"month-end anchor Apr 30 to May 31", "2024-04-30", "2024-05-31", 1, true},
		{"Feb 28 to Mar 28 common year", "2023-02-28", "2023-03-28", 1, true},
		{"Feb 28 leap year is not month end so Mar 31 is not calendar", "2024-02-28", "2024-03-31", 0, false},
		{"Jan 29 to Feb 28 leap year is a day short", "2024-01-29", "2024-02-28", 0, false},
		{"Jan 1 to Jan 31 is not calendar", "2024-01-01", "2024-01-31", 0, false},
		{"Jan 31 to Mar 30 is not calendar", "2024-01-31", "2024-03-30", 0, false},
		{"time of day an hour later is within the slack", "2024-07-01T00:00:00Z", "2024-08-01T01:00:00Z", 1, true},
		{"time of day an hour earlier is within the slack", "2024-07-01T10:00:00Z", "2024-08-01T09:00:00Z", 1, true},
		{"time of day mismatch by an hour and a second", "2024-07-01T00:00:00Z", "2024-08-01T01:00:01Z", 0, false},
		{"time of day mismatch by an hour and a nanosecond", "2024-07-01T10:00:00Z", "2024-08-01T08:59:59.999999999Z", 0, false},
		{"same time of day not midnight", "2024-07-01T10:30:00Z", "2024-08-01T10:30:00Z", 1, true},
		{"offset start equals the UTC instant", "2024-07-01T02:00:00+02:00", "2024-08-01T00:00:00Z", 1, true},
		{"offset end moving the UTC date", "2024-07-01T00:00:00Z", "2024-07-31T22:00:00-02:00", 1, true},
		{"offsets compared in UTC not local date", "2024-07-01T01:00:00+02:00", "2024-08-01T01:00:00Z", 0, false},
		{"zero length", "2024-07-01", "2024-07-01", 0, false},
		{"reversed", "2024-08-01", "2024-07-01", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, cal := recalc.Months(metricsTime(t, tc.start), metricsTime(t, tc.end))
			assert.Equal(t, tc.wantK, k)
			assert.Equal(t, tc.wantCal, cal)
		})
	}
}

func TestMonthlyCentsRounding(t *testing.T) {
	t.Parallel()
	jul1 := metricsTime(t, "2024-07-01")
	// twoAvgMonths is exactly two 30.436875-day months (2 × 2,629,746 s) but not two calendar months,
	// so the fractional rule divides by exactly 2.
	twoAvgMonths := jul1.Add(2 * 2_629_746 * time.Second)
	// floatTrap is 2,629,824 s = 30 days 10:30:24, making months = 2,629,824 / 2,629,746. With
	// 219,152 cents = 2,629,824 / 12 the MRR is 2,629,746 / 12 = 219,145.5 exactly, which rounds up
	// to 219,146; float64 arithmetic gets 219,145.4999… and would round down.
	floatTrap := jul1.Add(2_629_824 * time.Second)
	tests := []struct {
		name       string
		net        int64
		start, end time.Time
		want       int64
	}{
		{"one calendar month", 9900, jul1, metricsTime(t, "2024-08-01"), 9900},
		{"a year divides by 12", 120000, metricsTime(t, "2024-01-15"), metricsTime(t, "2025-01-15"), 10000},
		{"3 cents over 2 months is 1.5 rounds up", 3, jul1, metricsTime(t, "2024-09-01"), 2},
		{"1 cent over 2 months is 0.5 rounds up", 1, jul1, metricsTime(t, "2024-09-01"), 1},
		{"50 cents over 100 months is 0.5 rounds up", 50, metricsTime(t, "2020-01-01"), metricsTime(t, "2028-05-01"), 1},
		{"49 cents over 100 months is 0.49 rounds down", 49, metricsTime(t, "2020-01-01"), metricsTime(t, "2028-05-01"), 0},
		{"5 cents over 3 months is 1.67 rounds up", 5, jul1, metricsTime(t, "2024-10-01"), 2},
		{"4 cents over 3 months is 1.33 rounds down", 4, jul1, metricsTime(t, "2024-10-01"), 1},
		{"negative 1.5 rounds away from zero", -3, jul1, metricsTime(t, "2024-09-01"), -2},
		{"negative 0.5 rounds away from zero", -1, jul1, metricsTime(t, "2024-09-01"), -1},
		{"fractional exactly 2 months 1.5 rounds up", 3, jul1, twoAvgMonths, 2},
		{"fractional a second over 2 months is below 1.5", 3, jul1, twoAvgMonths.Add(time.Second), 1},
		{"fractional exact half where float64 fails", 219152, jul1, floatTrap, 219146},
		// 219,152 × 2,629,746 / 2,629,825 = 219,145.5 × 2,629,824 / 2,629,825 ≈ 219,145.4167.
		{"fractional just below half", 219152, jul1, floatTrap.Add(time.Second), 219145},
		// 30 days = 2,592,000 s: 10,000 × 2,629,746 / 2,592,000 = 10,145.625.
		{"thirty days", 10000, jul1, jul1.AddDate(0, 0, 30), 10146},
		// Jan 1 2000 to Jan 2 3000 is 31,557,081,600 s (too long for 64-bit nanoseconds):
		// 10^15 × 2,629,746 / 31,557,081,600 = 83,332,991,095.6….
		{"span beyond 584 years", 1_000_000_000_000_000, metricsTime(t, "2000-01-01"), metricsTime(t, "3000-01-02"), 83_332_991_096},
		{"zero length contributes nothing", 9900, jul1, jul1, 0},
		{"reversed period contributes nothing", 9900, metricsTime(t, "2024-08-01"), jul1, 0},
		{"zero amount", 0, jul1, metricsTime(t, "2024-08-01"), 0},
		// 9,223,372,036,854,775,807 / 12 = 768,614,336,404,564,650 remainder 7, and 7/12 > 1/2.
		{"int64 max over a year", math.MaxInt64, metricsTime(t, "2024-01-15"), metricsTime(t, "2025-01-15"), 768_614_336_404_564_651},
		{"int64 max over a month", math.MaxInt64, jul1, metricsTime(t, "2024-08-01"), math.MaxInt64},
		{"int64 min over a month", math.MinInt64, jul1, metricsTime(t, "2024-08-01"), math.MinInt64},
		{"int64 max over a second saturates", math.MaxInt64, jul1, jul1.Add(time.Second), math.MaxInt64},
		{"int64 min over a second saturates", math.MinInt64, jul1, jul1.Add(time.Second), math.MinInt64},
		{"one cent over a nanosecond is exact", 1, jul1, jul1.Add(time.Nanosecond), 2_629_746_000_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, recalc.MonthlyCents(tc.net, tc.start, tc.end))
		})
	}
}

// metricsCase is one Compute expectation.
type metricsCase struct {
	name     string
	invoices []recalc.Invoice
	at       string
	want     []recalc.Metrics
	wantNext string // "" for the zero time
}

// metricsWant builds an expected entry; ARR is 12 × MRR by definition.
func metricsWant(tb testing.TB, currency string, mrr, revenue, count int64, first, last, status string) recalc.Metrics {
	tb.Helper()
	return recalc.Metrics{
		Currency:       currency,
		MRRCents:       mrr,
		ARRCents:       12 * mrr,
		RevenueCents:   revenue,
		InvoiceCount:   count,
		FirstInvoiceAt: metricsTime(tb, first),
		LastInvoiceAt:  metricsTime(tb, last),
		Status:         status,
	}
}

// metricsSub is a subscription invoice dated at its start.
func metricsSub(tb testing.TB, currency string, amount int64, start, end, subID string) recalc.Invoice {
	tb.Helper()
	return recalc.Invoice{
		Type: "subscription", Date: metricsTime(tb, start), StartDate: metricsTime(tb, start),
		EndDate: metricsTime(tb, end), AmountCents: amount, Currency: currency, SubscriptionID: subID,
	}
}

// metricsOther is a one-time, refund or cancellation invoice; its period is its date.
func metricsOther(tb testing.TB, typ, currency string, amount int64, date, subID string) recalc.Invoice {
	tb.Helper()
	d := metricsTime(tb, date)
	return recalc.Invoice{
		Type: typ, Date: d, StartDate: d, EndDate: d, AmountCents: amount, Currency: currency,
		SubscriptionID: subID,
	}
}

func runMetricsCases(t *testing.T, tests []metricsCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := metricsTime(t, tc.at)
			before := append([]recalc.Invoice(nil), tc.invoices...)
			got, next := recalc.Compute(tc.invoices, at)
			for i := range tc.want {
				tc.want[i].CalculatedAt = at.UTC()
			}
			assert.Equal(t, tc.want, got)
			if tc.wantNext == "" {
				assert.True(t, next.IsZero(), "next change %v, want none", next)
			} else {
				assert.Equal(t, metricsTime(t, tc.wantNext), next)
			}
			assert.Equal(t, before, tc.invoices, "Compute must not modify its input")
		})
	}
}

func TestComputeSpecExamples(t *testing.T) {
	t.Parallel()
	monthly := []recalc.Invoice{metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "")}
	yearly := []recalc.Invoice{metricsSub(t, "USD", 120000, "2024-01-15", "2025-01-15", "")}
	runMetricsCases(t, []metricsCase{
		{
			name: "monthly 9900 on 2024-07-15 is active", invoices: monthly, at: "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "monthly 9900 on 2024-08-02 without renewal is churned", invoices: monthly, at: "2024-08-02",
			want: []recalc.Metrics{metricsWant(t, "USD", 0, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned)},
		},
		{
			name: "yearly 120000 is 10000 a month", invoices: yearly, at: "2024-06-01",
			want:     []recalc.Metrics{metricsWant(t, "USD", 10000, 120000, 1, "2024-01-15", "2024-01-15", recalc.StatusActive)},
			wantNext: "2025-01-15",
		},
	})
	got, _ := recalc.Compute(monthly, metricsTime(t, "2024-07-15"))
	require.Len(t, got, 1)
	assert.Equal(t, int64(118800), got[0].ARRCents)
}

func TestComputeActiveBoundaries(t *testing.T) {
	t.Parallel()
	subs := []recalc.Invoice{metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "")}
	runMetricsCases(t, []metricsCase{
		{
			name: "a nanosecond before start is none", invoices: subs, at: "2024-06-30T23:59:59.999999999Z",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 0, 1, "2024-07-01", "2024-07-01", recalc.StatusNone)},
			wantNext: "2024-07-01",
		},
		{
			name: "exactly at start is active", invoices: subs, at: "2024-07-01",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "a nanosecond before end is active", invoices: subs, at: "2024-07-31T23:59:59.999999999Z",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "exactly at end is churned", invoices: subs, at: "2024-08-01",
			want: []recalc.Metrics{metricsWant(t, "USD", 0, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned)},
		},
		{
			name: "t given with an offset is the same instant", invoices: subs, at: "2024-08-01T01:59:59+02:00",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "renewal continues MRR without double counting",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsSub(t, "USD", 9900, "2024-08-01", "2024-09-01", "sub_a"),
			},
			at:       "2024-08-01",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 19800, 2, "2024-07-01", "2024-08-01", recalc.StatusActive)},
			wantNext: "2024-09-01",
		},
		{
			name:     "zero-length period contributes nothing but has started",
			invoices: []recalc.Invoice{metricsSub(t, "USD", 9900, "2024-07-01", "2024-07-01", "")},
			at:       "2024-07-01",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned)},
		},
		{
			name: "fractional months per invoice then summed",
			invoices: []recalc.Invoice{
				// 30 days: 10,000 × 2,629,746 / 2,592,000 = 10,145.625 → 10,146, twice.
				metricsSub(t, "USD", 10000, "2024-07-01", "2024-07-31", "a"),
				metricsSub(t, "USD", 10000, "2024-07-01", "2024-07-31", "b"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 20292, 20000, 2, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-07-31",
		},
		{
			name: "rounded per invoice not on the sum",
			invoices: []recalc.Invoice{
				// 1 cent over 2 months is 0.5 → 1 each; summed first it would be 2 × 0.5 = 1.
				metricsSub(t, "USD", 1, "2024-07-01", "2024-09-01", "a"),
				metricsSub(t, "USD", 1, "2024-07-01", "2024-09-01", "b"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 2, 2, 2, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-09-01",
		},
	})
}

func TestComputeDiscountsAndRevenue(t *testing.T) {
	t.Parallel()
	discounted := metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "")
	discounted.DiscountCents = 900
	free := metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "")
	free.DiscountCents = 9900
	oneTime := metricsOther(t, "one-time", "USD", 5000, "2024-07-05", "")
	oneTime.DiscountCents = 500
	refundDiscounted := metricsOther(t, "refund", "USD", 2000, "2024-07-10", "")
	refundDiscounted.DiscountCents = 1000
	runMetricsCases(t, []metricsCase{
		{
			name: "discount reduces MRR and revenue", invoices: []recalc.Invoice{discounted}, at: "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9000, 9000, 1, "2024-07-01", "2024-07-01", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "discount equal to amount is no MRR so churned", invoices: []recalc.Invoice{free}, at: "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 0, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned)},
			wantNext: "2024-08-01",
		},
		{
			name: "one-time and refund move revenue not MRR; refund discount ignored",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", ""), oneTime, refundDiscounted,
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900+4500-2000, 3, "2024-07-01", "2024-07-10", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "refunds may take revenue negative; one-time alone is status none",
			invoices: []recalc.Invoice{
				metricsOther(t, "one-time", "USD", 5000, "2024-07-01", ""),
				metricsOther(t, "refund", "USD", 20000, "2024-07-02", ""),
			},
			at:   "2024-07-15",
			want: []recalc.Metrics{metricsWant(t, "USD", 0, -15000, 2, "2024-07-01", "2024-07-02", recalc.StatusNone)},
		},
		{
			name: "future-dated invoices counted but not in revenue; next change is the nearest",
			invoices: []recalc.Invoice{
				metricsOther(t, "one-time", "USD", 100, "2024-07-20", ""),
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", ""),
				metricsOther(t, "refund", "USD", 50, "2024-07-25", ""),
				metricsSub(t, "USD", 9900, "2024-08-01", "2024-09-01", ""),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 4, "2024-07-01", "2024-08-01", recalc.StatusActive)},
			wantNext: "2024-07-20",
		},
		{
			name: "subscription invoiced before its period starts counts revenue on its date",
			invoices: []recalc.Invoice{{
				Type: "subscription", Date: metricsTime(t, "2024-06-25"), StartDate: metricsTime(t, "2024-07-01"),
				EndDate: metricsTime(t, "2024-08-01"), AmountCents: 9900, Currency: "USD",
			}},
			at:       "2024-06-28",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 9900, 1, "2024-06-25", "2024-06-25", recalc.StatusNone)},
			wantNext: "2024-07-01",
		},
	})
}

func TestComputeCancellations(t *testing.T) {
	t.Parallel()
	manyCancels := []recalc.Invoice{
		metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
		metricsSub(t, "USD", 5000, "2024-07-01", "2024-08-01", "sub_b"),
		metricsOther(t, "cancellation", "USD", 0, "2024-07-10", "sub_a"),
		metricsSub(t, "USD", 4900, "2024-07-12", "2024-08-12", "sub_a"),
		// Started between sub_a's two cancellations, so the later one ends it.
		metricsSub(t, "USD", 300, "2024-07-07", "2024-08-07", "sub_a"),
		metricsOther(t, "cancellation", "USD", 0, "2024-07-05", "sub_a"),
	}
	for i := range 20 {
		manyCancels = append(manyCancels, metricsOther(t, "cancellation", "USD", 0, "2024-07-05", fmt.Sprintf("sub_x%d", i)))
	}
	runMetricsCases(t, []metricsCase{
		{
			name: "cancellation with subscription id ends only that subscription",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsSub(t, "USD", 5000, "2024-07-01", "2024-08-01", "sub_b"),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-10", "sub_a"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 5000, 14900, 3, "2024-07-01", "2024-07-10", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "cancellation without subscription id ends all",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsSub(t, "USD", 5000, "2024-07-01", "2024-08-01", ""),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-10", ""),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 14900, 3, "2024-07-01", "2024-07-10", recalc.StatusChurned)},
			wantNext: "2024-08-01",
		},
		{
			name: "reactivation after cancellation without subscription id is active",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", ""),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-10", ""),
				metricsSub(t, "USD", 4900, "2024-07-12", "2024-08-12", ""),
				// Started between the two cancellations, so the later one ends it.
				metricsSub(t, "USD", 300, "2024-07-07", "2024-08-07", "sub_b"),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-05", ""),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 4900, 15100, 5, "2024-07-01", "2024-07-12", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "cancellation with subscription id leaves invoices without one",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", ""),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-10", "sub_a"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 2, "2024-07-01", "2024-07-10", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "reactivation after cancellation is active, also one starting on the cancellation date",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-10", "sub_a"),
				metricsSub(t, "USD", 4900, "2024-07-12", "2024-08-12", "sub_a"),
				metricsSub(t, "USD", 100, "2024-07-10", "2024-08-10", "sub_a"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 5000, 14900, 4, "2024-07-01", "2024-07-12", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
		{
			name: "future cancellation leaves active until its date",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-20", "sub_a"),
			},
			at:       "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 9900, 2, "2024-07-01", "2024-07-20", recalc.StatusActive)},
			wantNext: "2024-07-20",
		},
		{
			name: "cancellation takes effect exactly on its date",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsOther(t, "cancellation", "USD", 0, "2024-07-20", "sub_a"),
			},
			at:       "2024-07-20",
			want:     []recalc.Metrics{metricsWant(t, "USD", 0, 9900, 2, "2024-07-01", "2024-07-20", recalc.StatusChurned)},
			wantNext: "2024-08-01",
		},
		{
			name: "cancellation applies across currencies and its own currency gets an entry",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", "sub_a"),
				metricsSub(t, "EUR", 8000, "2024-07-01", "2024-08-01", "sub_a"),
				metricsOther(t, "cancellation", "GBP", 0, "2024-07-10", ""),
			},
			at: "2024-07-15",
			want: []recalc.Metrics{
				metricsWant(t, "EUR", 0, 8000, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned),
				metricsWant(t, "GBP", 0, 0, 1, "2024-07-10", "2024-07-10", recalc.StatusNone),
				metricsWant(t, "USD", 0, 9900, 1, "2024-07-01", "2024-07-01", recalc.StatusChurned),
			},
			wantNext: "2024-08-01",
		},
		{
			name: "many cancellations index by subscription id and keep reactivations", invoices: manyCancels, at: "2024-07-15",
			want:     []recalc.Metrics{metricsWant(t, "USD", 9900, 20100, 26, "2024-07-01", "2024-07-12", recalc.StatusActive)},
			wantNext: "2024-08-01",
		},
	})
}

func TestComputeCurrencies(t *testing.T) {
	t.Parallel()
	runMetricsCases(t, []metricsCase{
		{
			name: "separate entries sorted by currency",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", 9900, "2024-07-01", "2024-08-01", ""),
				metricsSub(t, "EUR", 8000, "2024-06-15", "2024-07-15", ""),
				metricsOther(t, "one-time", "GBP", 300, "2024-07-02", ""),
				metricsSub(t, "EUR", 8000, "2024-07-15", "2024-08-15", ""),
				metricsOther(t, "one-time", "USD", 100, "2024-06-01", ""),
			},
			at: "2024-07-20",
			want: []recalc.Metrics{
				metricsWant(t, "EUR", 8000, 16000, 2, "2024-06-15", "2024-07-15", recalc.StatusActive),
				metricsWant(t, "GBP", 0, 300, 1, "2024-07-02", "2024-07-02", recalc.StatusNone),
				metricsWant(t, "USD", 9900, 10000, 2, "2024-06-01", "2024-07-01", recalc.StatusActive),
			},
			wantNext: "2024-08-01",
		},
		{
			name: "sums saturate instead of wrapping",
			invoices: []recalc.Invoice{
				metricsSub(t, "USD", math.MaxInt64, "2024-07-01", "2024-08-01", "a"),
				metricsSub(t, "USD", math.MaxInt64, "2024-07-01", "2024-08-01", "b"),
			},
			at: "2024-07-15",
			want: []recalc.Metrics{{
				Currency: "USD", MRRCents: math.MaxInt64, ARRCents: math.MaxInt64, RevenueCents: math.MaxInt64,
				InvoiceCount: 2, FirstInvoiceAt: metricsTime(t, "2024-07-01"), LastInvoiceAt: metricsTime(t, "2024-07-01"),
				Status: recalc.StatusActive,
			}},
			wantNext: "2024-08-01",
		},
	})
}

func TestComputeEmpty(t *testing.T) {
	t.Parallel()
	got, next := recalc.Compute(nil, metricsTime(t, "2024-07-15"))
	assert.Nil(t, got)
	assert.True(t, next.IsZero())
}

func TestComputeReturnsUTC(t *testing.T) {
	t.Parallel()
	at := metricsTime(t, "2024-07-15T12:00:00+02:00")
	inv := metricsSub(t, "USD", 9900, "2024-07-01T02:00:00+02:00", "2024-08-01T02:00:00+02:00", "")
	got, next := recalc.Compute([]recalc.Invoice{inv}, at)
	require.Len(t, got, 1)
	assert.Equal(t, int64(9900), got[0].MRRCents, "Jul 1 to Aug 1 UTC is one calendar month")
	assert.Equal(t, time.UTC, got[0].CalculatedAt.Location())
	assert.Equal(t, time.UTC, got[0].FirstInvoiceAt.Location())
	assert.Equal(t, time.UTC, next.Location())
	assert.True(t, at.Equal(got[0].CalculatedAt))
	assert.Equal(t, metricsTime(t, "2024-08-01"), next)
}

// BenchmarkCompute measures one customer of ten invoices: eight monthly renewals, a one-time charge
// and a refund, computed in the middle of the current period.
func BenchmarkCompute(b *testing.B) {
	start := metricsTime(b, "2024-01-01")
	invoices := make([]recalc.Invoice, 0, 10)
	for i := range 8 {
		s, e := start.AddDate(0, i, 0), start.AddDate(0, i+1, 0)
		invoices = append(invoices, recalc.Invoice{
			Type: "subscription", Date: s, StartDate: s, EndDate: e, AmountCents: 9900,
			DiscountCents: 900, Currency: "USD", SubscriptionID: "sub_1",
		})
	}
	invoices = append(invoices,
		metricsOther(b, "one-time", "USD", 5000, "2024-03-10", ""),
		metricsOther(b, "refund", "USD", 2000, "2024-04-02", ""),
	)
	at := metricsTime(b, "2024-08-15")
	b.ReportAllocs()
	for b.Loop() {
		recalc.Compute(invoices, at)
	}
}
