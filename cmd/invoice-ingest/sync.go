package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"invoice-ingest/client"
	"invoice-ingest/loader"
	"invoice-ingest/stripesync"
)

// syncActions are the billing systems sync reads.
var syncActions = []command{
	{"stripe", "read a Stripe account and push its customers, plans and invoices", syncStripeCommand},
}

func syncCommand(ctx context.Context, args []string, e env) error {
	return dispatch(ctx, "sync", "Sync a billing system into a running service.", syncActions, args, e)
}

const syncStripeAbout = `Read customers, recurring prices, invoices with their lines, credit notes and subscriptions
from Stripe (STRIPE_API_KEY; STRIPE_API_BASE points at another API, e.g. stripe-mock) and push
them to a running service as SPEC 8's table maps them: customers, plans, then invoices (credit
notes as refunds, ended subscriptions as cancellations). Drafts are skipped; void invoices pushed
before are archived. A second run answers unchanged for everything Stripe did not change.
Progress, retries, summary and exit status as push's. See README "Syncing Stripe".`

func syncStripeCommand(ctx context.Context, args []string, e env) error {
	f := newFlags("sync stripe", "--source NAME [--since YYYY-MM-DD] [flags]", syncStripeAbout)
	source := f.String("source", "", "the data source to sync into, created when missing (required)")
	since := f.String("since", "", "only invoices and credit notes created, and subscriptions ended, on or after this day")
	batch := f.Int("batch", 1000, "rows per request")
	concurrency := f.Int("concurrency", 4, "requests in flight")
	asJSON := f.Bool("json", false, "print the summary as one JSON object on standard output")
	sf := addServiceFlags(f)
	if err := f.noArgs(args, e.stdout); err != nil {
		return err
	}
	o := stripesync.Options{Source: *source, Batch: *batch, Concurrency: *concurrency}
	if o.Source == "" {
		return f.fail("--source is required")
	}
	if *since != "" {
		t, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			return f.fail("--since must be YYYY-MM-DD")
		}
		o.Since = t
	}
	key, _ := e.lookup("STRIPE_API_KEY")
	if key == "" {
		return f.fail("STRIPE_API_KEY is not set")
	}
	base, _ := e.lookup("STRIPE_API_BASE")
	h := hooksOf(e)
	c, err := sf.client(f, e, h)
	if err != nil {
		return err
	}
	o.Client, o.Stripe = c, stripesync.NewStripe(key, base, nil)
	limitMemory(e)
	var stops []func()
	o.Progress = func(entity client.Entity) loader.Progress {
		p, stop := newProgress(e, h, "stripe "+string(entity), -1)
		stops = append(stops, stop)
		return p
	}
	start := h.now()
	res, err := stripesync.Sync(ctx, o)
	for _, stop := range stops {
		stop()
	}
	return finishSync(e, h, start, res, *asJSON, err)
}

// finishSync writes one summary line per entity (and with --json one object holding the three)
// and returns the exit status as push's.
func finishSync(e env, h *clientHooks, start time.Time, res stripesync.Result, asJSON bool, err error) error {
	secs := h.now().Sub(start).Seconds()
	out := map[string]summary{}
	var total client.Counts
	for _, x := range []struct {
		name string
		c    client.Counts
	}{{"customers", res.Customers}, {"plans", res.Plans}, {"invoices", res.Invoices}} {
		s := newSummary(x.c, secs)
		out[x.name] = s
		total = total.Plus(x.c)
		fmt.Fprintf(e.stderr, "sync stripe %s: %d rows: %d inserted, %d updated, %d unchanged, %d errors\n",
			x.name, s.Rows, s.Inserted, s.Updated, s.Unchanged, s.Errors)
	}
	fmt.Fprintf(e.stderr, "sync stripe: %d rows in %.1f s\n", total.Rows, secs)
	if asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintln(e.stdout, string(b))
	}
	return outcome(total, false, err)
}
