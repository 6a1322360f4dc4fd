// Command ingest-bench measures the invoice write path against its baselines, in one run, on the
// same generated rows, in a scratch database on a local PostgreSQL:
//
//  1. the ceiling: pgx CopyFrom of the rows into invoices (in batches, on concurrent connections);
//  2. the best raw upsert with per-row statuses: one INSERT ... SELECT FROM unnest(...) ON CONFLICT
//     ... RETURNING per batch, through pgx, for insert, unchanged and update passes;
//  3. the naive alternative: GORM CreateInBatches with OnConflict{UpdateAll};
//  4. the service end to end: the real invoice-ingest binary, started as a child process, fed
//     JSON requests over HTTP by concurrent clients (insert, unchanged and update passes), then
//     the recalculation drain rate of its worker command.
//
// COPY, raw and e2e run -rounds times (3 by default), back to back, and every ratio is the median
// of the ratios within one round (rounds.go): a shared machine's speed moves too much between
// passes minutes apart for one pass of each to compare.
//
// With -preload N it loads N invoices (untimed) and runs the e2e passes (-rounds times, each
// round on rows of its own) and the recalculation drain again at that size.
//
// With -recalc-backfill N it also drains N customers of 36 monthly invoices each (the shape of a
// three-year import, every customer with a monthly MRR history) and times GET /data/mrr over the
// 36 months for the whole account.
//
// It also measures what one 10,000-row JSON request adds to a fresh server's peak RSS and,
// with -ndjson-rows, a long NDJSON stream, -rounds times, each against a 4-client insert on the
// same server just before it. It prints a table, then, as the last line of
// stdout, one JSON object with the nine figures the issue names. Progress goes to stderr.
//
//	go run ./cmd/ingest-bench [-rows 100000] [-batch 1000] [-clients 4] [-database-url URL]
//
// Run it from inside the module: it builds cmd/invoice-ingest with `go build` (or takes -binary).
// Raw, GORM, COPY and e2e all run -batch rows per statement or request on -clients concurrent
// connections, so the ratios compare like with like.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"invoice-ingest/internal/scratch"
	"invoice-ingest/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest-bench:", err)
		os.Exit(1)
	}
}

// bench is one run's state.
type bench struct {
	cfg      config
	log      func(format string, args ...any)
	stderr   io.Writer // locked: child processes write to it too
	url      string    // the scratch database
	dbName   string    // its name
	pool     *pgxpool.Pool
	db       *models.DB
	bin      string
	account  uuid.UUID
	source   uuid.UUID
	apiKey   string
	results  []result
	round    int // the -rounds round running, 0 outside them
	recalc   *result
	drainCPU cpuUse // of the last drain: the worker's (as server) and PostgreSQL's
	backfill *backfillResult
	rss      *rssResult
	ndjson   *ndjsonResult
	fresh    *freshnessResult
	// webhooks is the -webhook-latency result; webhooksMissing the writes whose event had not
	// arrived when the phase ended.
	webhooks        *freshnessResult
	webhooksMissing int
	srv             *server // the e2e server, whose CPU use timePass reports
	pushes          []pushResult
	tmp             string // a directory of this run, removed at the end
	pre             *preloadResult
}

// run is the whole command; it never exits, so the smoke test can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, stderr: stderr}
	b.log = func(format string, args ...any) { fmt.Fprintf(stderr, "ingest-bench: "+format+"\n", args...) }

	drop, err := b.createScratch(ctx)
	if err != nil {
		return err
	}
	defer drop()
	if err := b.connect(ctx); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "ingest-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b.tmp = tmp
	if b.bin, err = scratch.Binary(ctx, cfg.binary, tmp, b.log); err != nil {
		return err
	}

	// The e2e server runs from the start: the account, source, customers and plans every
	// method shares go in through the binary and the API.
	srv, err := b.setup(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	b.srv = srv
	if err := b.runSteps(ctx, srv); err != nil {
		return err
	}
	srv.stop()
	return b.report(stdout)
}

// runSteps generates the rows once, so that every method writes the same ones, and runs the
// methods in turn.
func (b *bench) runSteps(ctx context.Context, srv *server) error {
	b.log("generating %d rows (and their changed versions)", b.cfg.rows)
	rows := genInvoices(b.cfg.rows, b.cfg.customers, 0)
	changed := genInvoices(b.cfg.rows, b.cfg.customers, 1)

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"rounds", func(ctx context.Context) error { return b.runRounds(ctx, srv, rows, changed) }},
		{"GORM", func(ctx context.Context) error { return b.runGorm(ctx, rows, changed) }},
		{"RSS", b.runRSS},
		{"push", func(ctx context.Context) error { return b.runPush(ctx, srv, b.tmp) }},
		{"recalc", b.runRecalc},
		{"backfill", func(ctx context.Context) error { return b.runBackfill(ctx, srv) }},
		{"NDJSON", b.runNDJSON},
		{"freshness", func(ctx context.Context) error { return b.runFreshness(ctx, rows, changed) }},
		{"preload", func(ctx context.Context) error { return b.runPreloaded(ctx, srv, rows, changed) }},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// lockedWriter serialises writes: progress lines and the children's stderr share it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
