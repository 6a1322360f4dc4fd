package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"invoice-ingest/client"
	"invoice-ingest/loader"
)

const pushAbout = `Push rows from CSV, NDJSON (.ndjson, .jsonl) or JSON array (.json) files, optionally
gzipped (.gz), or standard input (-), to a running service in batches (SPEC 8). CSV: the header
names the row fields, empty cells are absent. Each batch carries an Idempotency-Key, and failed
batches are retried (network errors, 429, 5xx; backoff from 1 s, Retry-After honoured, 10
attempts). A state file beside each input (FILE.push-state) records the batches the service
answered: after a crash or Ctrl-C, --resume skips them. Progress on standard error, a summary at
the end. Exit status: 0 every row stored or unchanged, 1 some rows in error, 2 usage, 3 gave up.
Environment: INGEST_URL, INGEST_API_KEY. See docs/cli.md.`

// pushOptions are push's command line.
type pushOptions struct {
	entity, source, errorsPath, amountUnit, format string
	batch, concurrency                             int
	dryRun, resume, asJSON                         bool
	files                                          []string
}

func pushCommand(ctx context.Context, args []string, e env) error {
	f := newFlags("push", "--entity invoices|customers|plans [flags] FILE...", pushAbout)
	var o pushOptions
	f.StringVar(&o.entity, "entity", "", "what the rows are: invoices, customers or plans (required)")
	f.StringVar(&o.source, "source", "", "the data source to fill in where a row names none")
	f.IntVar(&o.batch, "batch", 1000, "rows per request")
	f.IntVar(&o.concurrency, "concurrency", 4, "requests in flight")
	f.BoolVar(&o.dryRun, "dry-run", false, "validate against the stored data; write nothing")
	f.StringVar(&o.errorsPath, "errors", "", "write the rows in error to this file (NDJSON; CSV with an import_error column for CSV input)")
	f.BoolVar(&o.resume, "resume", false, "skip the batches FILE.push-state records as answered")
	f.BoolVar(&o.asJSON, "json", false, "print the summary as one JSON object on standard output")
	f.StringVar(&o.amountUnit, "amount-unit", "minor", "CSV amount_cents and discount: minor (integers) or major (decimals in the currency's unit)")
	f.StringVar(&o.format, "format", "", "csv, ndjson or json (default: by extension; standard input: by its first byte)")
	sf := addServiceFlags(f)
	if err := f.parse(args, e.stdout); err != nil {
		return err
	}
	o.files = f.Args()
	if err := o.check(f); err != nil {
		return err
	}
	h := hooksOf(e)
	c, err := sf.client(f, e, h)
	if err != nil {
		return err
	}
	limitMemory(e)
	start := h.now()
	total, errsWritten, err := o.pushAll(ctx, c, e, h)
	return finish(e, h, "push", start, total, o.asJSON, errsWritten, err)
}

// check refuses a command line that cannot run.
func (o *pushOptions) check(f *flags) error {
	switch {
	case !client.Entity(o.entity).Valid():
		return f.fail("--entity must be invoices, customers or plans")
	case len(o.files) == 0:
		return f.fail("no FILE (use - for standard input)")
	case o.batch < 1 || o.batch > 10000:
		return f.fail("--batch must be 1 to 10000")
	case o.concurrency < 1 || o.concurrency > 64:
		return f.fail("--concurrency must be 1 to 64")
	case o.amountUnit != "minor" && o.amountUnit != "major":
		return f.fail("--amount-unit must be minor or major")
	case o.format != "" && o.format != loader.FormatCSV && o.format != loader.FormatNDJSON && o.format != loader.FormatJSON:
		return f.fail("--format must be csv, ndjson or json")
	}
	for _, p := range o.files {
		if p == "-" && o.resume {
			return f.fail("--resume needs files: standard input cannot be read again")
		}
	}
	return nil
}

// pushAll pushes each file in turn; the errors file is shared (its format is the first input's).
func (o *pushOptions) pushAll(ctx context.Context, c *client.Client, e env, h *clientHooks) (client.Counts, bool, error) {
	var total client.Counts
	var sink loader.ErrorSink
	closeSink := func() error {
		if sink == nil {
			return nil
		}
		return sink.Close()
	}
	for _, path := range o.files {
		n, s, err := o.pushFile(ctx, c, e, h, path, sink)
		sink = s
		total = total.Plus(n)
		if err != nil {
			_ = closeSink()
			return total, sink != nil, err
		}
	}
	return total, sink != nil, closeSink()
}

// pushFile pushes one input; sink is the errors file, opened here on first use.
func (o *pushOptions) pushFile(ctx context.Context, c *client.Client, e env, h *clientHooks, path string, sink loader.ErrorSink) (client.Counts, loader.ErrorSink, error) {
	in, err := loader.Open(path, o.format, h.stdin)
	if err != nil {
		return client.Counts{}, sink, exitError{1, err.Error()}
	}
	defer in.Close()
	src, header, err := loader.NewSource(in, o.source, o.amountUnit == "major")
	if err != nil {
		return client.Counts{}, sink, exitError{1, fmt.Sprintf("%s: %v", path, err)}
	}
	if sink == nil && o.errorsPath != "" {
		if sink, err = loader.OpenErrors(o.errorsPath, header, o.resume); err != nil {
			return client.Counts{}, nil, exitError{1, err.Error()}
		}
	}
	st, err := o.state(path)
	if err != nil {
		return client.Counts{}, sink, exitError{2, err.Error()}
	}
	progress, stop := newProgress(e, h, path, loader.CountRows(path, in.Format))
	defer stop()
	n, err := loader.Run(ctx, src, loader.Options{Client: c, Entity: client.Entity(o.entity), Batch: o.batch,
		Concurrency: o.concurrency, DryRun: o.dryRun, State: st, Errors: sink, Progress: progress})
	if cerr := st.Close(err == nil); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return n, sink, fmt.Errorf("%s: %w", path, err)
	}
	return n, sink, nil
}

// state opens the state file beside path (standard input: one in memory).
func (o *pushOptions) state(path string) (*loader.State, error) {
	h := loader.StateHeader{Entity: o.entity, Source: o.source, Batch: o.batch, AmountUnit: o.amountUnit, DryRun: o.dryRun}
	if path == "-" {
		return loader.NewRunState(h), nil
	}
	return loader.OpenState(path+".push-state", h, o.resume)
}

// newProgress is the bar on a terminal, a line per 10 s otherwise.
func newProgress(e env, h *clientHooks, label string, total int64) (loader.Progress, func()) {
	if h.terminal {
		return loader.NewBar(e.stderr, total, label), func() {}
	}
	ticks, stop := h.tickEvery(10 * time.Second)
	return loader.NewLines(e.stderr, label, total, ticks, h.now), stop
}

// summary is the --json object of SPEC 8.
type summary struct {
	client.Counts
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
}

func newSummary(c client.Counts, secs float64) summary {
	s := summary{Counts: c, Seconds: secs}
	if secs > 0 {
		s.RowsPerS = float64(c.Rows) / secs
	}
	return s
}

// finish writes the summary (stderr, and stdout with --json) and turns the outcome into the
// exit status: 0, 1 rows in error, 3 gave up (a cancelled run is 1, and can be resumed).
func finish(e env, h *clientHooks, what string, start time.Time, c client.Counts, asJSON, errorsFile bool, err error) error {
	s := newSummary(c, h.now().Sub(start).Seconds())
	fmt.Fprintf(e.stderr, "%s: %d rows in %.1f s (%.0f rows/s): %d inserted, %d updated, %d unchanged, %d errors\n",
		what, s.Rows, s.Seconds, s.RowsPerS, s.Inserted, s.Updated, s.Unchanged, s.Errors)
	if asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintln(e.stdout, string(b))
	}
	return outcome(c, errorsFile, err)
}

// outcome is the exit status of a run that counted c and ended with err.
func outcome(c client.Counts, errorsFile bool, err error) error {
	var x exitError
	switch {
	case err == nil && c.Errors == 0:
		return nil
	case err == nil:
		hint := ""
		if errorsFile {
			hint = " (see the errors file)"
		}
		return exitError{1, fmt.Sprintf("%d rows in error%s", c.Errors, hint)}
	case errors.As(err, &x):
		return err
	case client.IsGaveUp(err):
		return exitError{3, "gave up: " + err.Error()}
	case errors.Is(err, context.Canceled):
		return exitError{1, "stopped before the end; run again with --resume to push the rest"}
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return exitError{3, "gave up: " + err.Error()}
	}
	return exitError{1, err.Error()}
}
