package recalc

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"invoice-ingest/validation"
)

// mrrEvent is a change of a currency's MRR at a month start: a subscription invoice's monthly
// amount added from the first month start at or after its start, and taken away from the first
// month start at or after its end or the cancellation that ends it.
type mrrEvent struct {
	month    time.Time
	currency string
	delta    int64
}

// mrrEvents returns the events of every subscription invoice, sorted by month, and false when the
// sums of a currency could leave the int64 range (Compute saturates per invoice there, which a
// running sum cannot reproduce).
func mrrEvents(invoices []Invoice) ([]mrrEvent, bool) {
	cancels := newCancelDates(invoices)
	var events []mrrEvent
	total := map[string]uint64{}
	for i := range invoices {
		inv := &invoices[i]
		if inv.Type != validation.TypeSubscription {
			continue
		}
		v := MonthlyCents(subSat(inv.AmountCents, inv.DiscountCents), inv.StartDate, inv.EndDate)
		until := inv.EndDate
		if d, ok := cancels.first(inv); ok && d.Before(until) {
			until = d
		}
		from, to := monthCeil(inv.StartDate), monthCeil(until)
		if v == 0 || !from.Before(to) {
			continue // no month start sees it active
		}
		abs := uint64(v)
		if v < 0 {
			abs = uint64(-(v + 1)) + 1
		}
		if total[inv.Currency] += abs; total[inv.Currency] > math.MaxInt64/2 {
			return nil, false
		}
		events = append(events, mrrEvent{from, inv.Currency, v}, mrrEvent{to, inv.Currency, -v})
	}
	slices.SortStableFunc(events, func(a, b mrrEvent) int { return a.month.Compare(b.month) })
	return events, true
}

// historyFromEvents is History from the sorted events: the MRR of every currency at each month
// start where an event falls, up to t's month, and whether the next month's differs.
func historyFromEvents(events []mrrEvent, t time.Time) (changes []HistoryChange, nextMonth time.Time) {
	cur := monthStart(t)
	next := cur.AddDate(0, 1, 0)
	var state historyState
	mrr := map[string]int64{}
	i := 0
	for i < len(events) && !events[i].month.After(cur) {
		m := events[i].month
		for ; i < len(events) && events[i].month.Equal(m); i++ {
			mrr[events[i].currency] += events[i].delta
		}
		changes = state.step(changes, m, asMetrics(mrr))
	}
	moved := false
	for ; i < len(events) && events[i].month.Equal(next); i++ {
		mrr[events[i].currency] += events[i].delta
		moved = true
	}
	if moved && mrrDiffers(asMetrics(mrr), state.asMetrics()) {
		nextMonth = next
	}
	return changes, nextMonth
}

// asMetrics presents MRR per currency as historyState.step reads it.
func asMetrics(mrr map[string]int64) []Metrics {
	out := make([]Metrics, 0, len(mrr))
	for c, v := range mrr {
		out = append(out, Metrics{Currency: c, MRRCents: v})
	}
	slices.SortFunc(out, func(a, b Metrics) int { return cmp.Compare(a.Currency, b.Currency) })
	return out
}

// asMetrics is the state's last MRR per currency.
func (s *historyState) asMetrics() []Metrics {
	out := make([]Metrics, len(s.currencies))
	for i, c := range s.currencies {
		out[i] = Metrics{Currency: c, MRRCents: s.mrr[i]}
	}
	return out
}

// cancelDates are a customer's cancellation dates, sorted: those without a subscription id (they
// end every subscription that started before them) and those of each subscription id.
type cancelDates struct {
	all  []time.Time
	byID map[string][]time.Time
}

func newCancelDates(invoices []Invoice) cancelDates {
	c := cancelDates{byID: map[string][]time.Time{}}
	for i := range invoices {
		inv := &invoices[i]
		switch {
		case inv.Type != validation.TypeCancellation:
		case inv.SubscriptionID == "":
			c.all = append(c.all, inv.Date)
		default:
			c.byID[inv.SubscriptionID] = append(c.byID[inv.SubscriptionID], inv.Date)
		}
	}
	byTime := func(a, b time.Time) int { return a.Compare(b) }
	slices.SortFunc(c.all, byTime)
	for _, ds := range c.byID {
		slices.SortFunc(ds, byTime)
	}
	return c
}

// first returns the earliest cancellation that ends sub (Compute's cancelIndex rule): dated after
// sub's start, without a subscription id or with sub's.
func (c cancelDates) first(sub *Invoice) (time.Time, bool) {
	d, ok := after(c.all, sub.StartDate)
	if sub.SubscriptionID != "" {
		if e, ok2 := after(c.byID[sub.SubscriptionID], sub.StartDate); ok2 && (!ok || e.Before(d)) {
			d, ok = e, true
		}
	}
	return d, ok
}

// after returns the first of sorted strictly after t.
func after(sorted []time.Time, t time.Time) (time.Time, bool) {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i].After(t) })
	if i == len(sorted) {
		return time.Time{}, false
	}
	return sorted[i], true
}
