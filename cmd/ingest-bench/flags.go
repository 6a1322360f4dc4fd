package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// config is the command line.
type config struct {
	serverURL       string // maintenance database of the server the scratch database goes on
	rows            int
	batch           int
	clients         int
	rounds          int // times COPY, raw and e2e run back to back (rounds.go)
	customers       int
	recalcCustomers int
	recalcWorkers   int
	recalcAccounts  int // accounts the -recalc-customers are spread over (each its own data source)
	recalcBackfill  int // customers of the backfill-shaped set (36 monthly invoices each); 0 = skip
	mrrRequests     int // timed GET /data/mrr requests after the backfill drain
	ndjsonRows      int
	pushRows        int // rows of the generated files `invoice-ingest push` sends (0 = skip)
	preload         int // invoices loaded before the e2e passes are run again (0 = skip)
	freshness       time.Duration
	freshnessRate   int
	webhookLatency  bool
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
	fs.IntVar(&c.rounds, "rounds", 3, "times COPY, raw and e2e run back to back; ratios are the median of each round's")
	fs.IntVar(&c.customers, "customers", 1000, "customers the invoices are spread over (round-robin)")
	fs.IntVar(&c.recalcCustomers, "recalc-customers", 10000, "extra customers (10 invoices each) queued for the recalculation drain")
	fs.IntVar(&c.recalcAccounts, "recalc-accounts", 1, "accounts the -recalc-customers are spread over, each with its own data source (1: the bench's account); e.g. -recalc-customers 10000 -recalc-accounts 1000 drains 1,000 accounts of 10 customers")
	fs.IntVar(&c.recalcWorkers, "recalc-workers", 2, "RECALC_WORKERS of the worker process that drains the queue")
	fs.IntVar(&c.recalcBackfill, "recalc-backfill", 0, "customers with 36 monthly invoices each, drained by the worker, then GET /data/mrr timed over them (0 = skip)")
	fs.IntVar(&c.mrrRequests, "mrr-requests", 20, "timed GET /data/mrr requests (36 months, whole account) after the -recalc-backfill drain")
	fs.IntVar(&c.ndjsonRows, "ndjson-rows", 0, "rows of one streamed NDJSON request to a fresh server, sent -rounds times, each after a 4-client insert of as many rows (0 = skip)")
	fs.IntVar(&c.pushRows, "push-rows", 0, "rows of an NDJSON and a CSV file pushed by `invoice-ingest push` against the e2e server (0 = skip)")
	fs.IntVar(&c.preload, "preload", 0, "load this many invoices over 100,000 customers (untimed), then run the e2e passes and the recalculation drain again at that size (0 = skip)")
	fs.DurationVar(&c.freshness, "freshness", 10*time.Second, "how long to measure write-to-fresh-metrics delay under steady load (0 = skip)")
	fs.IntVar(&c.freshnessRate, "freshness-rate", 10000, "invoice rows/s of the steady load while freshness is measured")
	fs.BoolVar(&c.webhookLatency, "webhook-latency", false, "during -freshness, also measure import.completed webhook latency (write answer to a local receiver)")
	fs.StringVar(&c.binary, "binary", "", "prebuilt invoice-ingest binary (default: go build ./cmd/invoice-ingest from the module root)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.rows < 1 || c.customers < 1 || c.clients < 1 || c.rounds < 1 || c.recalcWorkers < 1 || c.recalcAccounts < 1:
		return c, errors.New("-rows, -customers, -clients, -rounds, -recalc-workers and -recalc-accounts must be at least 1")
	case c.batch < 1 || c.batch > 10000:
		return c, errors.New("-batch must be 1 to 10000 (the server's INGEST_MAX_ROWS)")
	case c.recalcCustomers < 0 || c.ndjsonRows < 0 || c.pushRows < 0 || c.preload < 0 || c.freshness < 0 || c.freshnessRate < 1:
		return c, errors.New("-recalc-customers, -ndjson-rows, -push-rows and -preload must not be negative")
	case c.recalcBackfill < 0 || c.mrrRequests < 1:
		return c, errors.New("-recalc-backfill must not be negative, -mrr-requests at least 1")
	}
	return c, nil
}
