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
// It also measures what one 10,000-row JSON request adds to a fresh server's peak RSS and,
// with -ndjson-rows, one long NDJSON stream. It prints a table, then, as the last line of
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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// config is the command line.
type config struct {
	serverURL       string // maintenance database of the server the scratch database goes on
	rows            int
	batch           int
	clients         int
	customers       int
	recalcCustomers int
	recalcWorkers   int
	ndjsonRows      int
	freshness       time.Duration
	freshnessRate   int
	binary          string // a prebuilt invoice-ingest; built from the module when empty
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	def := os.Getenv("PG_SERVER_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	var c config
	fs := flag.NewFlagSet("ingest-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.serverURL, "database-url", def, "URL of the PostgreSQL server's maintenance database (env PG_SERVER_URL); a scratch database is created beside it and dropped at the end")
	fs.IntVar(&c.rows, "rows", 100000, "invoice rows per pass")
	fs.IntVar(&c.batch, "batch", 1000, "rows per raw/GORM statement and per e2e JSON request (at most 10000, INGEST_MAX_ROWS)")
	fs.IntVar(&c.clients, "clients", 4, "concurrent clients (connections) for raw, GORM and e2e")
	fs.IntVar(&c.customers, "customers", 1000, "customers the invoices are spread over (round-robin)")
	fs.IntVar(&c.recalcCustomers, "recalc-customers", 10000, "extra customers (10 invoices each) queued for the recalculation drain")
	fs.IntVar(&c.recalcWorkers, "recalc-workers", 2, "RECALC_WORKERS of the worker process that drains the queue")
	fs.IntVar(&c.ndjsonRows, "ndjson-rows", 0, "rows of one streamed NDJSON request to a fresh server (0 = skip)")
	fs.DurationVar(&c.freshness, "freshness", 10*time.Second, "how long to measure write-to-fresh-metrics delay under steady load (0 = skip)")
	fs.IntVar(&c.freshnessRate, "freshness-rate", 10000, "invoice rows/s of the steady load while freshness is measured")
	fs.StringVar(&c.binary, "binary", "", "prebuilt invoice-ingest binary (default: go build ./cmd/invoice-ingest from the module root)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.rows < 1 || c.customers < 1 || c.clients < 1 || c.recalcWorkers < 1:
		return c, errors.New("-rows, -customers, -clients and -recalc-workers must be at least 1")
	case c.batch < 1 || c.batch > 10000:
		return c, errors.New("-batch must be 1 to 10000 (the server's INGEST_MAX_ROWS)")
	case c.recalcCustomers < 0 || c.ndjsonRows < 0 || c.freshness < 0 || c.freshnessRate < 1:
		return c, errors.New("-recalc-customers and -ndjson-rows must not be negative")
	}
	return c, nil
}

// bench is one run's state.
type bench struct {
	cfg     config
	log     func(format string, args ...any)
	stderr  io.Writer // locked: child processes write to it too
	url     string    // the scratch database
	pool    *pgxpool.Pool
	db      *models.DB
	bin     string
	account uuid.UUID
	source  uuid.UUID
	apiKey  string
	results []result
	recalc  *result
	rss     *rssResult
	ndjson  *ndjsonResult
	fresh   *freshnessResult
	srv     *server // the e2e server, whose CPU use timePass reports
}

// run is the whole command; it never exits, so the smoke test can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	stderr = &lockedWriter{w: stderr}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, stderr: stderr}
	b.log = func(format string, args ...any) { fmt.Fprintf(stderr, "ingest-bench: "+format+"\n", args...) }

	// Scratch database, dropped on the way out whatever happened (also after an interrupt: the
	// drop runs on a fresh context, and WITH (FORCE) ends sessions a dying child left behind).
	name := "ingest_bench_" + randomHex(6)
	if b.url, err = createDatabase(ctx, cfg.serverURL, name); err != nil {
		return err
	}
	b.log("scratch database %s", name)
	defer func() {
		if b.pool != nil {
			b.pool.Close()
		}
		if b.db != nil {
			b.db.Close()
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := dropDatabase(dctx, cfg.serverURL, name); derr != nil {
			b.log("could not drop %s: %v", name, derr)
		}
	}()
	if b.db, err = models.Open(ctx, b.url); err != nil {
		return err
	}
	if err := models.Migrate(ctx, b.db.SQL); err != nil {
		return err
	}
	pcfg, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(cfg.clients + 2)
	if b.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "ingest-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if b.bin, err = buildBinary(ctx, cfg.binary, tmp, b.log); err != nil {
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

	b.log("generating %d rows (and their changed versions)", cfg.rows)
	rows := genInvoices(cfg.rows, cfg.customers, 0)
	changed := genInvoices(cfg.rows, cfg.customers, 1)

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"COPY", func(ctx context.Context) error { return b.runCopy(ctx, rows) }},
		{"raw", func(ctx context.Context) error { return b.runRaw(ctx, rows, changed) }},
		{"GORM", func(ctx context.Context) error { return b.runGorm(ctx, rows, changed) }},
		{"RSS", b.runRSS},
		{"e2e", func(ctx context.Context) error { return b.runE2E(ctx, srv, rows, changed) }},
		{"recalc", b.runRecalc},
		{"NDJSON", b.runNDJSON},
		{"freshness", func(ctx context.Context) error { return b.runFreshness(ctx, rows, changed) }},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	srv.stop()
	return b.report(stdout)
}

// setup creates the account with the binary's own command, starts the e2e server and puts the
// data source, customers and plans in through the API.
func (b *bench) setup(ctx context.Context) (*server, error) {
	acc, err := b.createAccount(ctx)
	if err != nil {
		return nil, err
	}
	b.account, b.apiKey = acc.id, acc.key
	b.log("starting the e2e server (RECALC_WORKERS=0)")
	srv, err := b.startServer(ctx)
	if err != nil {
		return nil, err
	}
	if b.source, err = srv.createSource(ctx, "bench"); err != nil {
		srv.stop()
		return nil, err
	}
	var customers, plansBody [][]byte
	for c := range b.cfg.customers {
		customers = append(customers, customerJSON(c, "bench"))
	}
	for _, p := range plans {
		plansBody = append(plansBody, planJSON(p, "bench"))
	}
	for _, step := range []struct {
		path string
		rows [][]byte
	}{{"/data/customers", customers}, {"/data/plans", plansBody}} {
		for _, r := range batches(len(step.rows), 1000) {
			body := joinArray(step.rows[r[0]:r[1]])
			if err := srv.postChecked(ctx, step.path, body, nil, r[1]-r[0], "inserted"); err != nil {
				srv.stop()
				return nil, fmt.Errorf("%s: %w", step.path, err)
			}
		}
	}
	b.log("account, data source, %d customers and %d plans in place", b.cfg.customers, len(plans))
	// Statistics for the reference tables, so every method plans its FK and lookup queries alike.
	if _, err := b.pool.Exec(ctx, "ANALYZE customers, plans, data_sources"); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

// reset empties invoices and the queue: every insert pass starts from the same empty table (the
// customers and plans stay), then settles it.
func (b *bench) reset(ctx context.Context) error {
	if _, err := b.pool.Exec(ctx, "TRUNCATE invoices, recalc_queue, recalc_outbox"); err != nil {
		return err
	}
	return b.settle(ctx)
}

// settle runs before every timed pass, untimed: VACUUM ANALYZE sets hint bits and statistics (so
// no pass pays for the previous one's cleanup or for autovacuum's timing), and CHECKPOINT makes
// every pass start just after one (so full-page writes weigh the same in each). CHECKPOINT needs
// superuser or pg_checkpoint; without it the pass just runs unsettled.
func (b *bench) settle(ctx context.Context) error {
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE invoices, recalc_queue, recalc_outbox"); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, "CHECKPOINT"); err != nil && ctx.Err() == nil {
		b.log("CHECKPOINT refused (%v); continuing without", err)
	}
	return ctx.Err()
}

// countInvoices is a sanity check after each insert pass.
func (b *bench) countInvoices(ctx context.Context, want int) error {
	var n int
	if err := b.pool.QueryRow(ctx, "SELECT count(*) FROM invoices").Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("invoices holds %d rows, want %d", n, want)
	}
	return nil
}

// createDatabase creates database name on the server of serverURL and returns its URL.
func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	u, err := neturl.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-database-url must be a postgres:// URL (got %q)", serverURL)
	}
	if err := adminExec(ctx, serverURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(ctx context.Context, serverURL, name string) error {
	return adminExec(ctx, serverURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func adminExec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", serverURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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

// parallel runs fn(i) for i in [0, n) on `clients` goroutines that pull the next i as they
// finish, the way independent clients keep a server busy. The first error cancels the rest.
func parallel(ctx context.Context, clients, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(clients, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}
