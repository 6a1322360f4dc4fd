package stripesync

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/stripe/stripe-go/v85"

	"invoice-ingest/client"
	"invoice-ingest/loader"
)

// Options say what Sync reads and how it pushes.
type Options struct {
	Stripe      *stripe.Client
	Client      *client.Client
	Source      string    // the data source the rows go to (created when missing)
	Since       time.Time // zero: everything; else invoices and credit notes created, subscriptions ended, since
	Batch       int
	Concurrency int
	// Progress, when set, returns the display of one entity's push.
	Progress func(entity client.Entity) loader.Progress
}

// Result is the counts of a sync, per entity (archived void invoices count as invoices:
// updated when archived now, unchanged when archived before).
type Result struct {
	Customers client.Counts `json:"customers"`
	Plans     client.Counts `json:"plans"`
	Invoices  client.Counts `json:"invoices"`
}

// Sync reads the Stripe account and pushes customers, then plans, then invoices (invoices,
// credit notes, cancellations), then archives void invoices that were pushed before.
func Sync(ctx context.Context, o Options) (Result, error) {
	var res Result
	if _, err := o.Client.EnsureDataSource(ctx, o.Source); err != nil {
		return res, fmt.Errorf("data source %s: %w", o.Source, err)
	}
	var err error
	if res.Customers, err = o.push(ctx, client.Customers, o.customers(ctx)); err != nil {
		return res, err
	}
	if res.Plans, err = o.push(ctx, client.Plans, o.plans(ctx)); err != nil {
		return res, err
	}
	var voids []string
	if res.Invoices, err = o.push(ctx, client.Invoices, o.invoices(ctx, &voids)); err != nil {
		return res, err
	}
	for _, id := range voids {
		found, before, err := o.Client.ArchiveInvoice(ctx, o.Source, id)
		switch {
		case err != nil:
			return res, fmt.Errorf("archive void invoice %s: %w", id, err)
		case before:
			res.Invoices.Add(client.StatusUnchanged)
		case found:
			res.Invoices.Add(client.StatusUpdated)
		}
	}
	return res, nil
}

// push sends one entity's rows.
func (o *Options) push(ctx context.Context, entity client.Entity, rows iter.Seq2[any, error]) (client.Counts, error) {
	src := newRowSource(rows)
	defer src.stop()
	var p loader.Progress
	if o.Progress != nil {
		p = o.Progress(entity)
	}
	c, err := loader.Run(ctx, src, loader.Options{Client: o.Client, Entity: entity, Batch: o.Batch,
		Concurrency: o.Concurrency, Progress: p})
	if err != nil {
		return c, fmt.Errorf("%s: %w", entity, err)
	}
	return c, nil
}

func (o *Options) customers(ctx context.Context) iter.Seq2[any, error] {
	p := &stripe.CustomerListParams{}
	listParams(&p.ListParams)
	return mapped(o.Stripe.V1Customers.List(ctx, p).All(ctx), func(c *stripe.Customer) (client.Customer, bool) {
		return Customer(c, o.Source), true
	})
}

func (o *Options) plans(ctx context.Context) iter.Seq2[any, error] {
	p := &stripe.PriceListParams{Type: stripe.String(string(stripe.PriceTypeRecurring))}
	listParams(&p.ListParams)
	p.AddExpand("data.product") // the plan's name falls back to its product's
	return mapped(o.Stripe.V1Prices.List(ctx, p).All(ctx), func(pr *stripe.Price) (client.Plan, bool) {
		return Plan(pr, o.Source)
	})
}

// invoices yields the invoice rows: invoices (drafts skipped, void ones noted in voids), credit
// notes, then cancellations.
func (o *Options) invoices(ctx context.Context, voids *[]string) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		ip := &stripe.InvoiceListParams{CreatedRange: createdSince(o.Since)}
		listParams(&ip.ListParams)
		for inv, err := range o.Stripe.V1Invoices.List(ctx, ip).All(ctx) {
			if err == nil {
				err = o.allLines(ctx, inv)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			row, action := Invoice(inv, o.Source)
			if action == Archive {
				*voids = append(*voids, inv.ID)
			}
			if action == Push && !yield(row, nil) {
				return
			}
		}
		cp := &stripe.CreditNoteListParams{CreatedRange: createdSince(o.Since)}
		listParams(&cp.ListParams)
		for row, err := range mapped(o.Stripe.V1CreditNotes.List(ctx, cp).All(ctx), func(cn *stripe.CreditNote) (client.Invoice, bool) {
			return CreditNote(cn, o.Source)
		}) {
			if !yield(row, err) || err != nil {
				return
			}
		}
		sp := &stripe.SubscriptionListParams{Status: stripe.String("all")}
		listParams(&sp.ListParams)
		for row, err := range mapped(o.Stripe.V1Subscriptions.List(ctx, sp).All(ctx), func(s *stripe.Subscription) (client.Invoice, bool) {
			if !o.Since.IsZero() && s.EndedAt < o.Since.Unix() {
				return client.Invoice{}, false
			}
			return Cancellation(s, o.Source)
		}) {
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// allLines completes an invoice whose embedded lines are only the first page.
func (o *Options) allLines(ctx context.Context, inv *stripe.Invoice) error {
	if inv.Lines == nil || !inv.Lines.HasMore || inv.Status == stripe.InvoiceStatusDraft || inv.Status == stripe.InvoiceStatusVoid {
		return nil
	}
	p := &stripe.InvoiceListLinesParams{Invoice: stripe.String(inv.ID)}
	listParams(&p.ListParams)
	var lines []*stripe.InvoiceLineItem
	for l, err := range o.Stripe.V1Invoices.ListLines(ctx, p).All(ctx) {
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	inv.Lines.Data = lines
	return nil
}
