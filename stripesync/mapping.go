package stripesync

import (
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"

	"invoice-ingest/client"
)

// stamp formats a Unix time as the API's RFC 3339 UTC timestamp.
func stamp(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

// Customer maps a Stripe customer: id, name, email, address.country.
func Customer(c *stripe.Customer, source string) client.Customer {
	out := client.Customer{ID: c.ID, DataSource: source, Name: c.Name, Email: c.Email}
	if c.Address != nil {
		out.Country = c.Address.Country
	}
	return out
}

// Plan maps a recurring price: its nickname, else its product's name (when the product was
// expanded), else its id, and its recurring interval. ok is false for a one-off price.
func Plan(p *stripe.Price, source string) (plan client.Plan, ok bool) {
	if p.Recurring == nil {
		return client.Plan{}, false
	}
	name := p.Nickname
	if name == "" && p.Product != nil {
		name = p.Product.Name
	}
	if name == "" {
		name = p.ID
	}
	return client.Plan{ID: p.ID, DataSource: source, Name: name,
		IntervalUnit: string(p.Recurring.Interval), IntervalCount: int(p.Recurring.IntervalCount)}, true
}

// Action is what Sync does with an invoice.
type Action int

// The actions of an invoice.
const (
	Push    Action = iota // push the mapped row
	Skip                  // a draft: not an invoice yet
	Archive               // void: archive it if it was pushed before
)

// Invoice maps a Stripe invoice: a subscription invoice when it has a subscription (its
// parent's subscription_details, else its subscription lines'), one-time otherwise. Drafts are
// skipped, void invoices archived.
func Invoice(inv *stripe.Invoice, source string) (client.Invoice, Action) {
	switch inv.Status {
	case stripe.InvoiceStatusDraft:
		return client.Invoice{}, Skip
	case stripe.InvoiceStatusVoid:
		return client.Invoice{ID: inv.ID, DataSource: source}, Archive
	}
	date := inv.Created
	if inv.StatusTransitions != nil && inv.StatusTransitions.FinalizedAt > 0 {
		date = inv.StatusTransitions.FinalizedAt
	}
	out := client.Invoice{ID: inv.ID, DataSource: source, Type: "one-time", Date: stamp(date),
		AmountCents: inv.Subtotal, Discount: discount(inv), Currency: strings.ToUpper(string(inv.Currency)),
		StartDate: stamp(date), EndDate: stamp(date)}
	if inv.Customer != nil {
		out.CustomerID = inv.Customer.ID
	}
	var lines []*stripe.InvoiceLineItem
	if inv.Lines != nil {
		lines = inv.Lines.Data
	}
	sub, first, start, end := subscriptionLines(lines)
	if inv.Parent != nil && inv.Parent.SubscriptionDetails != nil && inv.Parent.SubscriptionDetails.Subscription != nil {
		sub = inv.Parent.SubscriptionDetails.Subscription.ID
	}
	if sub == "" {
		return out, Push
	}
	out.Type, out.SubscriptionID = "subscription", sub
	if first != nil {
		out.StartDate, out.EndDate = stamp(start), stamp(end)
		if first.Pricing != nil && first.Pricing.PriceDetails != nil && first.Pricing.PriceDetails.Price != nil {
			out.PlanID = first.Pricing.PriceDetails.Price.ID
		}
		if first.Quantity > 0 {
			out.Quantity = first.Quantity
		}
	}
	return out, Push
}

// discount is subtotal - total_excluding_tax, 0 when not positive; an invoice without
// total_excluding_tax (older objects) uses its total.
func discount(inv *stripe.Invoice) int64 {
	net := inv.TotalExcludingTax
	if net == 0 {
		net = inv.Total
	}
	if d := inv.Subtotal - net; d > 0 {
		return d
	}
	return 0
}

// subscriptionLines returns the subscription of the invoice's subscription lines, the line that
// names the plan (the first one that is not a proration, else the first), and the earliest start
// and latest end of all their periods.
func subscriptionLines(lines []*stripe.InvoiceLineItem) (sub string, first *stripe.InvoiceLineItem, start, end int64) {
	var firstProration *stripe.InvoiceLineItem
	for _, l := range lines {
		id, proration, ok := subscriptionLine(l)
		if !ok {
			continue
		}
		if sub == "" {
			sub = id
		}
		switch {
		case !proration && first == nil:
			first = l
		case proration && firstProration == nil:
			firstProration = l
		}
		if l.Period != nil {
			if start == 0 || l.Period.Start < start {
				start = l.Period.Start
			}
			end = max(end, l.Period.End)
		}
	}
	if first == nil {
		first = firstProration
	}
	return sub, first, start, end
}

// subscriptionLine says whether l bills a subscription item, which subscription, and whether it
// is a proration.
func subscriptionLine(l *stripe.InvoiceLineItem) (sub string, proration, ok bool) {
	if l.Parent != nil {
		d := l.Parent.SubscriptionItemDetails
		if l.Parent.Type != stripe.InvoiceLineItemParentTypeSubscriptionItemDetails || d == nil {
			return "", false, false
		}
		return d.Subscription, d.Proration, true
	}
	if l.Subscription != nil && l.Subscription.ID != "" { // objects older than the parent field
		return l.Subscription.ID, false, true
	}
	return "", false, false
}

// CreditNote maps a credit note to a refund: total, dated when it was created. ok is false for
// a void credit note.
func CreditNote(cn *stripe.CreditNote, source string) (client.Invoice, bool) {
	if cn.Status == stripe.CreditNoteStatusVoid {
		return client.Invoice{}, false
	}
	d := stamp(cn.Created)
	out := client.Invoice{ID: cn.ID, DataSource: source, Type: "refund", Date: d, AmountCents: cn.Total,
		Currency: strings.ToUpper(string(cn.Currency)), StartDate: d, EndDate: d}
	if cn.Customer != nil {
		out.CustomerID = cn.Customer.ID
	}
	return out, true
}

// Cancellation maps a subscription that ended to a cancellation: id cancel_<subscription id>,
// amount 0, dated ended_at. ok is false for a subscription that has not ended.
func Cancellation(s *stripe.Subscription, source string) (client.Invoice, bool) {
	if s.EndedAt == 0 {
		return client.Invoice{}, false
	}
	d := stamp(s.EndedAt)
	out := client.Invoice{ID: "cancel_" + s.ID, DataSource: source, Type: "cancellation", Date: d,
		Currency: strings.ToUpper(string(s.Currency)), StartDate: d, EndDate: d, SubscriptionID: s.ID}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	return out, true
}
