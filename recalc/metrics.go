package recalc

import (
	"math"
	"time"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// Invoice is what metrics need of one stored, non-archived invoice; the caller leaves archived ones
// out, since SPEC excludes them from metrics.
type Invoice = models.MetricInvoice

// Metrics are one customer's figures in one currency at instant CalculatedAt.
type Metrics struct {
	Currency       string
	MRRCents       int64
	ARRCents       int64
	RevenueCents   int64
	InvoiceCount   int64
	FirstInvoiceAt time.Time
	LastInvoiceAt  time.Time
	Status         string // StatusActive, StatusChurned, StatusNone
	CalculatedAt   time.Time
}

// Values of Metrics.Status.
const (
	// StatusActive means the customer has positive MRR in that currency.
	StatusActive = "active"
	// StatusChurned means no MRR, though a subscription in that currency has started.
	StatusChurned = "churned"
	// StatusNone means no subscription in that currency has started yet.
	StatusNone = "none"
)

// cancelIndexThreshold is how many subscription-specific cancellations a linear scan tolerates
// before a map pays for itself.
const cancelIndexThreshold = 16

// Compute returns the customer's metrics at t, one entry per currency of its invoices, sorted by
// currency, and the earliest instant strictly after t at which any of these metrics would change by
// the mere passage of time (a subscription period starts or ends, a cancellation takes effect, an
// invoice date is reached so revenue/status move); the zero time when nothing will change.
//
// The rules and the choices made where SPEC is silent are in the package documentation. Returned
// instants are in UTC. Compute allocates only the result slice in the common case.
func Compute(invoices []Invoice, t time.Time) (metrics []Metrics, nextChange time.Time) {
	if len(invoices) == 0 {
		return nil, time.Time{}
	}
	t = t.UTC()
	cancels := newCancelIndex(invoices, t)
	for i := range invoices {
		inv := &invoices[i]
		nextChange = earliestAfter(nextChange, inv.Date, t)
		m := metricsFor(&metrics, inv.Currency, t)
		m.InvoiceCount++
		if m.InvoiceCount == 1 || inv.Date.Before(m.FirstInvoiceAt) {
			m.FirstInvoiceAt = inv.Date.UTC()
		}
		if m.InvoiceCount == 1 || inv.Date.After(m.LastInvoiceAt) {
			m.LastInvoiceAt = inv.Date.UTC()
		}
		reached := !inv.Date.After(t)
		switch inv.Type {
		case validation.TypeSubscription:
			nextChange = earliestAfter(nextChange, inv.StartDate, t)
			nextChange = earliestAfter(nextChange, inv.EndDate, t)
			net := subSat(inv.AmountCents, inv.DiscountCents)
			if reached {
				m.RevenueCents = addSat(m.RevenueCents, net)
			}
			if inv.StartDate.After(t) {
				break
			}
			// Status doubles as the "a subscription has started" mark until the MRR is known.
			m.Status = StatusChurned
			if t.Before(inv.EndDate) && !cancels.cancelled(inv, invoices) {
				m.MRRCents = addSat(m.MRRCents, MonthlyCents(net, inv.StartDate, inv.EndDate))
			}
		case validation.TypeOneTime:
			if reached {
				m.RevenueCents = addSat(m.RevenueCents, subSat(inv.AmountCents, inv.DiscountCents))
			}
		case validation.TypeRefund:
			if reached {
				m.RevenueCents = subSat(m.RevenueCents, inv.AmountCents)
			}
		}
	}
	for i := range metrics {
		m := &metrics[i]
		m.ARRCents = mulSat12(m.MRRCents)
		if m.MRRCents > 0 {
			m.Status = StatusActive
		}
	}
	sortByCurrency(metrics)
	return metrics, nextChange
}

// metricsFor returns the entry for currency, appending a fresh one when there is none. Customers
// rarely bill in more than a couple of currencies, so a linear scan beats a map.
func metricsFor(metrics *[]Metrics, currency string, t time.Time) *Metrics {
	ms := *metrics
	for i := range ms {
		if ms[i].Currency == currency {
			return &ms[i]
		}
	}
	*metrics = append(ms, Metrics{Currency: currency, Status: StatusNone, CalculatedAt: t})
	return &(*metrics)[len(ms)]
}

// sortByCurrency is an insertion sort: the slice is nearly always of length one or two, and
// sort.Slice would allocate.
func sortByCurrency(ms []Metrics) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Currency < ms[j-1].Currency; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// earliestAfter returns the earlier of cur and candidate, considering candidate only when strictly
// after t; cur is zero while nothing has been found.
func earliestAfter(cur, candidate, t time.Time) time.Time {
	if !candidate.After(t) {
		return cur
	}
	if cur.IsZero() || candidate.Before(cur) {
		return candidate.UTC()
	}
	return cur
}

// cancelIndex answers "is this subscription invoice cancelled at t" without a pass over all
// invoices per question in the common cases.
type cancelIndex struct {
	t time.Time
	// latestAll is the latest cancellation without a subscription id dated at or before t; such a
	// cancellation ends every subscription that started before it, so only the latest matters.
	latestAll time.Time
	hasAll    bool
	// withID counts cancellations with a subscription id dated at or before t.
	withID int
	// latestByID maps a subscription id to its latest cancellation at or before t; built on first
	// use, and only when withID makes scanning too slow.
	latestByID map[string]time.Time
}

// newCancelIndex gathers the cancellations already in effect at t.
func newCancelIndex(invoices []Invoice, t time.Time) cancelIndex {
	c := cancelIndex{t: t}
	for i := range invoices {
		inv := &invoices[i]
		if inv.Type != validation.TypeCancellation || inv.Date.After(t) {
			continue
		}
		if inv.SubscriptionID != "" {
			c.withID++
			continue
		}
		if !c.hasAll || inv.Date.After(c.latestAll) {
			c.latestAll, c.hasAll = inv.Date, true
		}
	}
	return c
}

// cancelled reports whether a cancellation dated d <= t ends sub: one without a subscription id, or
// one with sub's id, and sub started before d. A subscription starting at or after d is a
// reactivation and stays untouched.
func (c *cancelIndex) cancelled(sub *Invoice, invoices []Invoice) bool {
	if c.hasAll && c.latestAll.After(sub.StartDate) {
		return true
	}
	if c.withID == 0 || sub.SubscriptionID == "" {
		return false
	}
	if c.withID > cancelIndexThreshold {
		if c.latestByID == nil {
			c.buildByID(invoices)
		}
		d, ok := c.latestByID[sub.SubscriptionID]
		return ok && d.After(sub.StartDate)
	}
	for i := range invoices {
		inv := &invoices[i]
		if inv.Type == validation.TypeCancellation && inv.SubscriptionID == sub.SubscriptionID &&
			!inv.Date.After(c.t) && inv.Date.After(sub.StartDate) {
			return true
		}
	}
	return false
}

// buildByID fills latestByID for customers with many cancellations.
func (c *cancelIndex) buildByID(invoices []Invoice) {
	c.latestByID = make(map[string]time.Time, c.withID)
	for i := range invoices {
		inv := &invoices[i]
		if inv.Type != validation.TypeCancellation || inv.SubscriptionID == "" || inv.Date.After(c.t) {
			continue
		}
		if d, ok := c.latestByID[inv.SubscriptionID]; !ok || inv.Date.After(d) {
			c.latestByID[inv.SubscriptionID] = inv.Date
		}
	}
}

// addSat adds without wrapping: a sum past the int64 range saturates, so a pathological amount can
// not flip a customer's revenue sign.
func addSat(a, b int64) int64 {
	s := a + b
	if (s > a) == (b > 0) {
		return s
	}
	if b > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// subSat subtracts without wrapping, saturating like addSat.
func subSat(a, b int64) int64 {
	d := a - b
	if (d < a) == (b > 0) {
		return d
	}
	if b > 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}

// mulSat12 returns 12 × v, saturating like addSat.
func mulSat12(v int64) int64 {
	switch {
	case v > math.MaxInt64/12:
		return math.MaxInt64
	case v < math.MinInt64/12:
		return math.MinInt64
	}
	return 12 * v
}
