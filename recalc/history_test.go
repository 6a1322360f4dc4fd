package recalc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sub is a subscription invoice of amount from start to end (YYYY-MM-DD).
func sub(id, currency string, amount int64, start, end string) testInvoice {
	return testInvoice{id: id, typ: "subscription", date: start, start: start, end: end, amount: amount, currency: currency}
}

// cancel is a cancellation dated d, for every subscription of the customer.
func cancel(id, d string) testInvoice {
	return testInvoice{id: id, typ: "cancellation", date: d, start: d, end: d, currency: "USD"}
}

// changesText renders changes as "2024-07 USD 9900 +9900 new" lines, for readable expectations.
func changesText(changes []HistoryChange) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = fmt.Sprintf("%s %s %d %+d %s", c.Month.Format("2006-01"), c.Currency, c.MRRCents, c.ChangeCents, c.Movement)
	}
	return out
}

// The movement rules of SPEC section 5, one customer at a time.
func TestHistoryMovements(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		invoices []testInvoice
		at       string
		want     []string
		next     string // the next month start History reports, "" for none
	}{{
		name:     "first month is new, then churn when the period ends",
		invoices: []testInvoice{sub("a", "USD", 9900, "2024-03-01", "2024-04-01")},
		at:       "2024-07-15",
		want:     []string{"2024-03 USD 9900 +9900 new", "2024-04 USD 0 -9900 churn"},
	}, {
		name: "months before the first activity are omitted (mid-month start counts from the next month)",
		invoices: []testInvoice{sub("a", "USD", 3000, "2024-02-10", "2024-03-10"),
			sub("b", "USD", 3000, "2024-03-10", "2024-04-10")},
		at:   "2024-04-20",
		want: []string{"2024-03 USD 3000 +3000 new"},
		next: "2024-05-01", // the second period ended on Apr 10: May shows the churn
	}, {
		name: "gap then reactivation",
		invoices: []testInvoice{sub("a", "USD", 1000, "2024-01-01", "2024-02-01"),
			sub("b", "USD", 2000, "2024-04-01", "2024-05-01")},
		at: "2024-06-01",
		want: []string{"2024-01 USD 1000 +1000 new", "2024-02 USD 0 -1000 churn",
			"2024-04 USD 2000 +2000 reactivation", "2024-05 USD 0 -2000 churn"},
	}, {
		name: "up, down, to zero",
		invoices: []testInvoice{sub("a", "USD", 1000, "2024-01-01", "2024-02-01"),
			sub("b", "USD", 1500, "2024-02-01", "2024-03-01"), sub("c", "USD", 500, "2024-03-01", "2024-04-01")},
		at: "2024-12-31",
		want: []string{"2024-01 USD 1000 +1000 new", "2024-02 USD 1500 +500 expansion",
			"2024-03 USD 500 -1000 contraction", "2024-04 USD 0 -500 churn"},
	}, {
		name: "two currencies are independent",
		invoices: []testInvoice{sub("a", "USD", 1000, "2024-01-01", "2024-03-01"),
			sub("b", "EUR", 700, "2024-02-01", "2024-04-01")},
		at: "2024-05-01",
		want: []string{"2024-01 USD 500 +500 new", "2024-02 EUR 350 +350 new", "2024-03 USD 0 -500 churn",
			"2024-04 EUR 0 -350 churn"},
	}, {
		name:     "an annual invoice is one MRR value for 12 months",
		invoices: []testInvoice{sub("y", "USD", 120000, "2024-01-01", "2025-01-01")},
		at:       "2025-03-01",
		want:     []string{"2024-01 USD 10000 +10000 new", "2025-01 USD 0 -10000 churn"},
	}, {
		name: "a cancellation mid-period churns from the next month",
		invoices: []testInvoice{sub("y", "USD", 120000, "2024-01-01", "2025-01-01"),
			cancel("c", "2024-05-20")},
		at:   "2024-12-01",
		want: []string{"2024-01 USD 10000 +10000 new", "2024-06 USD 0 -10000 churn"},
	}, {
		name:     "history stops at the calculation month, and names the next month when it differs",
		invoices: []testInvoice{sub("a", "USD", 9900, "2024-07-01", "2024-08-01")},
		at:       "2024-07-15",
		want:     []string{"2024-07 USD 9900 +9900 new"},
		next:     "2024-08-01",
	}, {
		name:     "a future subscription: nothing yet, next month when it starts then",
		invoices: []testInvoice{sub("a", "USD", 9900, "2024-08-01", "2024-09-01")},
		at:       "2024-07-15",
		next:     "2024-08-01",
	}, {
		name:     "one-time invoices make no history",
		invoices: []testInvoice{{id: "o", typ: "one-time", date: "2024-01-05", start: "2024-01-05", end: "2024-01-05", amount: 500, currency: "USD"}},
		at:       "2024-07-15",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, next := History(asInvoices(t, tc.invoices), day(t, tc.at))
			require.Equal(t, strings.Join(tc.want, "\n"), strings.Join(changesText(got), "\n"))
			if tc.next == "" {
				require.True(t, next.IsZero(), "next %v", next)
			} else {
				require.Equal(t, day(t, tc.next), next)
			}
		})
	}
}

// An archived invoice is left out by the loader; History of the rest no longer shows it.
func TestHistoryWithoutArchivedInvoice(t *testing.T) {
	t.Parallel()
	invs := []testInvoice{sub("a", "USD", 5000, "2024-01-01", "2024-06-01"), sub("b", "USD", 5000, "2024-03-01", "2024-04-01")}
	got, _ := History(asInvoices(t, invs), day(t, "2024-07-01"))
	require.Contains(t, changesText(got), "2024-03 USD 6000 +5000 expansion")
	got, _ = History(asInvoices(t, invs[:1]), day(t, "2024-07-01"))
	require.Equal(t, []string{"2024-01 USD 1000 +1000 new", "2024-06 USD 0 -1000 churn"}, changesText(got))
}

// History agrees with Compute at every month start: the shortcut of computing only at months
// with events changes nothing.
func TestHistoryMatchesComputeEveryMonth(t *testing.T) {
	t.Parallel()
	invs := asInvoices(t, []testInvoice{sub("a", "USD", 1000, "2023-11-17", "2024-02-17"),
		sub("b", "USD", 1300, "2024-01-31", "2024-02-29"), sub("c", "EUR", 99, "2024-02-01", "2024-02-10"),
		cancel("x", "2024-06-03"), sub("d", "USD", 4000, "2024-06-03", "2025-06-03")})
	at := day(t, "2025-09-09")
	got, _ := History(invs, at)
	mrr := map[string]int64{}
	for m := monthStart(invs[0].StartDate); !m.After(at); m = m.AddDate(0, 1, 0) {
		ms, _ := Compute(invs, m)
		for _, x := range ms {
			want := x.MRRCents
			var changed *HistoryChange
			for i := range got {
				if got[i].Month.Equal(m) && got[i].Currency == x.Currency {
					changed = &got[i]
				}
			}
			if want == mrr[x.Currency] {
				require.Nil(t, changed, "%s %s", m, x.Currency)
				continue
			}
			require.NotNil(t, changed, "%s %s", m, x.Currency)
			require.Equal(t, want, changed.MRRCents)
			require.Equal(t, want-mrr[x.Currency], changed.ChangeCents)
			mrr[x.Currency] = want
		}
	}
}

// Next change: Compute's own instant comes first when earlier; History adds the month boundary.
func TestNextChangeIncludesMonthBoundary(t *testing.T) {
	t.Parallel()
	p := &Pool{}
	invs := asInvoices(t, []testInvoice{sub("a", "USD", 9900, "2024-06-10", "2024-07-10")})
	r := p.computeOne(CustomerKey{}, invs, day(t, "2024-07-01"))
	require.Equal(t, day(t, "2024-07-10"), r.nextChange, "the period's end comes first")
	r = p.computeOne(CustomerKey{}, invs, day(t, "2024-07-10"))
	require.Equal(t, day(t, "2024-08-01"), r.nextChange, "then August, whose MRR differs from July's")
	r = p.computeOne(CustomerKey{}, invs, day(t, "2024-08-01"))
	require.True(t, r.nextChange.IsZero())
	require.Len(t, r.history, 2)
	require.Equal(t, time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC), r.history[1].Month)
}
