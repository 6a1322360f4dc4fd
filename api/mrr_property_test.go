package api_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/recalc"
)

// randomInvoices makes one customer's random invoices: subscriptions of random periods (a month,
// a quarter, a year, or some days), amounts, discounts, currencies and gaps, and cancellations
// with or without a subscription id. It returns the rows to send and what Compute takes.
func randomInvoices(rng *rand.Rand, customer string) (rows []string, invs []recalc.Invoice) {
	base := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	at := base.AddDate(0, 0, rng.Intn(200))
	for i := range 1 + rng.Intn(6) {
		start := at
		if rng.Intn(3) == 0 {
			start = time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC) // on a month start
		}
		var end time.Time
		switch rng.Intn(4) {
		case 0:
			end = start.AddDate(0, 1, 0)
		case 1:
			end = start.AddDate(0, 3, 0)
		case 2:
			end = start.AddDate(1, 0, 0)
		default:
			end = start.AddDate(0, 0, 5+rng.Intn(80))
		}
		amount := int64(100 + rng.Intn(100000))
		discount := int64(0)
		if rng.Intn(4) == 0 {
			discount = rng.Int63n(amount + 1)
		}
		currency := []string{"USD", "USD", "EUR"}[rng.Intn(3)]
		subID := fmt.Sprintf("sub_%d", rng.Intn(2))
		id := fmt.Sprintf("%s_s%d", customer, i)
		rows = append(rows, fmt.Sprintf(`{"id": %q, "customer_id": %q, "data_source": "stripe", "type": "subscription",
			"date": %q, "amount_cents": %d, "discount": %d, "currency": %q, "subscription_id": %q, "start_date": %q, "end_date": %q}`,
			id, customer, start.Format(time.RFC3339), amount, discount, currency, subID, start.Format(time.RFC3339), end.Format(time.RFC3339)))
		invs = append(invs, recalc.Invoice{Type: "subscription", Date: start, StartDate: start, EndDate: end,
			AmountCents: amount, DiscountCents: discount, Currency: currency, SubscriptionID: subID})
		if rng.Intn(4) == 0 { // a cancellation inside the period, of this subscription or of all
			d := start.Add(time.Duration(rng.Int63n(int64(end.Sub(start))) + 1))
			sid := ""
			if rng.Intn(2) == 0 {
				sid = subID
			}
			rows = append(rows, fmt.Sprintf(`{"id": "%s_c%d", "customer_id": %q, "data_source": "stripe", "type": "cancellation",
				"date": %q, "amount_cents": 0, "currency": "USD", "subscription_id": %q, "start_date": %q, "end_date": %q}`,
				customer, i, customer, d.Format(time.RFC3339), sid, d.Format(time.RFC3339), d.Format(time.RFC3339)))
			invs = append(invs, recalc.Invoice{Type: "cancellation", Date: d, StartDate: d, EndDate: d, Currency: "USD", SubscriptionID: sid})
		}
		at = end.AddDate(0, 0, rng.Intn(3)*rng.Intn(120)-20) // overlaps, renewals and gaps
	}
	for i := range rows { // "subscription_id": "" means none
		rows[i] = strings.Replace(rows[i], `, "subscription_id": ""`, "", 1)
	}
	return rows, invs
}

// The stored history of random accounts matches Compute at every month start, and the bridge
// holds for every month and currency, read through the real routes.
func TestMRRHistoryProperty(t *testing.T) {
	t.Parallel()
	e, recalculate := newHistoryEnv(t)
	at := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	first, last := time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for seed := int64(1); seed <= 3; seed++ {
		tn := newTenant(t, e, fmt.Sprintf("prop%d", seed))
		rng := rand.New(rand.NewSource(seed))
		expected := map[string]map[string][]int64{} // customer -> currency -> MRR per month from first
		var customers, rows []string
		all := map[string][]recalc.Invoice{}
		for c := range 12 {
			id := fmt.Sprintf("p%d_%02d", seed, c)
			customers = append(customers, fmt.Sprintf(`{"id": %q, "data_source": "stripe"}`, id))
			r, invs := randomInvoices(rng, id)
			rows = append(rows, r...)
			all[id] = invs
		}
		rowResults(t, e.do("POST", "/data/customers", tn.key, "["+strings.Join(customers, ",")+"]"))
		for _, r := range rowResults(t, e.do("POST", "/data/invoices", tn.key, "["+strings.Join(rows, ",")+"]")) {
			require.Equal(t, "inserted", r["import_status"], r)
		}
		recalculate(at)
		for id, invs := range all {
			expected[id] = map[string][]int64{}
			for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
				ms, _ := recalc.Compute(invs, m)
				for _, x := range ms {
					series := expected[id][x.Currency]
					for len(series) < monthsFrom(first, m) {
						series = append(series, 0)
					}
					expected[id][x.Currency] = append(series, x.MRRCents)
				}
			}
			checkCustomerHistory(t, e, tn.key, id, expected[id], first, last)
		}
		checkBridge(t, e, tn.key, expected, first, last)
	}
}

// monthsFrom counts months from a to b.
func monthsFrom(a, b time.Time) int { return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month()) }

// checkCustomerHistory compares GET /data/customers/{id}/mrr with the expected series: from each
// currency's first month with MRR > 0, the MRR, change and movement of every month.
func checkCustomerHistory(t *testing.T, e *env, key, id string, want map[string][]int64, first, last time.Time) {
	t.Helper()
	var lines []string
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		for _, cur := range []string{"EUR", "USD"} {
			series, i := want[cur], monthsFrom(first, m)
			started := false
			for j := 0; j <= i && j < len(series); j++ {
				started = started || series[j] > 0
			}
			if !started {
				continue
			}
			prev, ever := int64(0), false
			if i > 0 {
				prev = series[i-1]
				for _, v := range series[:i-1] {
					ever = ever || v > 0
				}
			}
			now := series[i]
			mv := "<nil>"
			switch {
			case now == prev:
			case now > 0 && prev == 0 && (ever || prev > 0):
				mv = "reactivation"
			case now > 0 && prev == 0:
				mv = "new"
			case now == 0:
				mv = "churn"
			case now > prev:
				mv = "expansion"
			default:
				mv = "contraction"
			}
			lines = append(lines, fmt.Sprintf("%s %s %d %d %s", m.Format("2006-01"), cur, now, now-prev, mv))
		}
	}
	res := resultOf(t, e.do("GET", "/data/customers/"+id+"/mrr?source=stripe&from=2021-06&to="+last.Format("2006-01"), key, nil))
	require.Equal(t, false, res["stale"])
	require.Equal(t, strings.Join(lines, "\n"), strings.Join(monthRows(res["list"].([]any)), "\n"), id)
}

// checkBridge checks GET /data/mrr against the sums of the expected series and the bridge identity.
func checkBridge(t *testing.T, e *env, key string, want map[string]map[string][]int64, first, last time.Time) {
	t.Helper()
	res := resultOf(t, e.do("GET", "/data/mrr?from="+first.Format("2006-01")+"&to="+last.Format("2006-01"), key, nil))
	prev, seen := map[string]float64{}, map[string]time.Time{}
	for _, v := range res["list"].([]any) {
		b := v.(map[string]any)
		m, err := time.Parse("2006-01", b["month"].(string))
		require.NoError(t, err)
		cur, i := b["currency"].(string), monthsFrom(first, m)
		if s, ok := seen[cur]; ok {
			require.Equal(t, 1, monthsFrom(s, m), "months follow each other: %s after %s", m, s)
		}
		seen[cur] = m
		var mrr, customers int64
		for _, series := range want {
			if s := series[cur]; i < len(s) && s[i] > 0 {
				mrr += s[i]
				customers++
			}
		}
		require.EqualValues(t, mrr, b["mrr_cents"], "%s %s", b["month"], cur)
		require.EqualValues(t, customers, b["customers"], "%s %s", b["month"], cur)
		sum := prev[cur]
		for _, k := range []string{"new_cents", "expansion_cents", "contraction_cents", "churn_cents", "reactivation_cents"} {
			sum += b[k].(float64)
		}
		require.Equal(t, b["mrr_cents"], sum, "bridge identity %s %s", b["month"], cur)
		prev[cur] = b["mrr_cents"].(float64)
	}
	for cur, s := range seen {
		require.Equal(t, last, s, "%s runs to the last month", cur)
	}
}
