package recalc

import (
	"slices"
	"time"

	"invoice-ingest/validation"
)

// Movements: how a customer's MRR in a currency moved from one month to the next (SPEC section 5).
const (
	// MovementNew is the first month with MRR > 0.
	MovementNew = "new"
	// MovementExpansion is MRR up from a positive value.
	MovementExpansion = "expansion"
	// MovementContraction is MRR down, still > 0.
	MovementContraction = "contraction"
	// MovementChurn is MRR down to 0 from > 0.
	MovementChurn = "churn"
	// MovementReactivation is MRR > 0 after a month at 0, some earlier month having been > 0.
	MovementReactivation = "reactivation"
)

// HistoryChange is one month in which a customer's MRR in a currency changed: the MRR at the
// month's first instant (day 1, 00:00 UTC), the change from the previous month (never 0) and its
// movement. Months without a change are not represented: their MRR is the last change's.
type HistoryChange struct {
	Currency    string
	Month       time.Time // the first instant of the month, UTC
	MRRCents    int64
	ChangeCents int64
	Movement    string
}

// History returns a customer's monthly MRR history up to t's month, per currency, as the months
// in which MRR changed, sorted by month then currency; and the start of the month after t's when
// MRR will change there (the zero time otherwise), so that the sweep recalculates the customer
// when the month turns even if nothing else happens then.
//
// A month's MRR is Compute's MRRCents at the month's first instant, so the history follows exactly
// the rules of the current metrics. It is found in one pass over the invoices (history_sweep.go):
// each subscription invoice adds its monthly amount to the month starts from its start to its end
// or cancellation. Only when sums could overflow int64, where Compute saturates per invoice, does
// History compute month by month instead (historyByCompute).
func History(invoices []Invoice, t time.Time) (changes []HistoryChange, nextMonth time.Time) {
	if events, ok := mrrEvents(invoices); ok {
		return historyFromEvents(events, t)
	}
	return historyByCompute(invoices, t)
}

// historyByCompute is History by calling Compute at the first month start at or after each
// subscription start or end and cancellation (MRR changes only then); every other month keeps the
// previous month's values. Months before the first MRR > 0 have no change and thus no entry.
func historyByCompute(invoices []Invoice, t time.Time) (changes []HistoryChange, nextMonth time.Time) {
	months := eventMonths(invoices, t)
	if len(months) == 0 {
		return nil, time.Time{}
	}
	var (
		prev  []Metrics // MRR per currency at the last computed month start
		state historyState
		cur   = monthStart(t)
	)
	for _, m := range months {
		if m.After(cur) {
			break
		}
		ms, _ := Compute(invoices, m)
		changes = state.step(changes, m, ms)
		prev = ms
	}
	next := cur.AddDate(0, 1, 0)
	if len(months) > 0 && !months[len(months)-1].Before(next) {
		// Something happens after this month started: does the next month's MRR differ?
		ms, _ := Compute(invoices, next)
		if mrrDiffers(prev, ms) {
			nextMonth = next
		}
	}
	return changes, nextMonth
}

// historyState is what classifying the next month needs per currency: the previous month's MRR,
// and whether any month had MRR > 0.
type historyState struct {
	currencies []string
	mrr        []int64
	everActive []bool
}

// step appends to changes the currencies whose MRR at month start m (per ms) differs from the
// previous month's. A currency absent from ms has MRR 0.
func (s *historyState) step(changes []HistoryChange, m time.Time, ms []Metrics) []HistoryChange {
	for _, x := range ms {
		if !slices.Contains(s.currencies, x.Currency) {
			s.currencies = append(s.currencies, x.Currency)
			s.mrr = append(s.mrr, 0)
			s.everActive = append(s.everActive, false)
		}
	}
	start := len(changes)
	for i, cur := range s.currencies {
		var now int64
		for _, x := range ms {
			if x.Currency == cur {
				now = x.MRRCents
			}
		}
		before := s.mrr[i]
		if now == before {
			continue
		}
		changes = append(changes, HistoryChange{
			Currency: cur, Month: m, MRRCents: now, ChangeCents: subSat(now, before),
			Movement: movement(before, now, s.everActive[i]),
		})
		s.mrr[i] = now
		s.everActive[i] = s.everActive[i] || now > 0
	}
	slices.SortFunc(changes[start:], func(a, b HistoryChange) int {
		switch {
		case a.Currency < b.Currency:
			return -1
		case a.Currency > b.Currency:
			return 1
		}
		return 0
	})
	return changes
}

// movement classifies a change of MRR from before to now (they differ). MRR is never negative
// (amounts and discounts are checked on write), so "not positive" means 0.
func movement(before, now int64, everActive bool) string {
	switch {
	case now > 0 && before <= 0 && everActive:
		return MovementReactivation
	case now > 0 && before <= 0:
		return MovementNew
	case now <= 0 && before > 0:
		return MovementChurn
	case now > before:
		return MovementExpansion
	}
	return MovementContraction
}

// mrrDiffers reports whether two Compute results differ in MRR in any currency (a currency
// missing from one has MRR 0 there).
func mrrDiffers(a, b []Metrics) bool {
	return mrrIn(a, b) || mrrIn(b, a)
}

// mrrIn reports whether some currency of a has an MRR other than b's.
func mrrIn(a, b []Metrics) bool {
	for _, x := range a {
		var other int64
		for _, y := range b {
			if y.Currency == x.Currency {
				other = y.MRRCents
			}
		}
		if other != x.MRRCents {
			return true
		}
	}
	return false
}

// eventMonths returns, sorted and distinct, the month starts at which MRR may differ from the
// previous month's: for every subscription start or end and every cancellation date, the first
// month start at or after it. Month starts after t's month's successor are left out, except that
// one such month is kept so History knows something happens later.
func eventMonths(invoices []Invoice, t time.Time) []time.Time {
	limit := monthStart(t).AddDate(0, 1, 0)
	var out []time.Time
	add := func(e time.Time) {
		m := monthCeil(e)
		if m.After(limit) {
			m = limit.AddDate(0, 1, 0) // "something happens later"; never computed
		}
		out = append(out, m)
	}
	for i := range invoices {
		inv := &invoices[i]
		switch inv.Type {
		case validation.TypeSubscription:
			add(inv.StartDate)
			add(inv.EndDate)
		case validation.TypeCancellation:
			add(inv.Date)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// monthStart is the first instant of t's month, UTC.
func monthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// monthCeil is the first month start at or after t.
func monthCeil(t time.Time) time.Time {
	m := monthStart(t)
	if m.Equal(t) {
		return m
	}
	return m.AddDate(0, 1, 0)
}
