package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"invoice-ingest/config"
	"invoice-ingest/imports"
	"invoice-ingest/models"
	"invoice-ingest/recalc"
	"invoice-ingest/telemetry"
	"invoice-ingest/webhooks"
)

// serveOptions is what serve and worker take from their command line and the process.
type serveOptions struct {
	withHTTP       bool   // serve; worker runs the recalculation workers alone
	addr           string // --addr, which wins over HTTP_ADDR
	demo           bool   // --demo-account
	lookup         config.Lookup
	stdout, stderr io.Writer
	hooks          *shutdownHooks // tests follow and pace the shutdown with them; nil otherwise
}

const serveAbout = `Create the database if missing and apply pending migrations, then serve the HTTP API
and run RECALC_WORKERS recalculation and WEBHOOK_WORKERS webhook delivery workers until SIGINT
or SIGTERM. Then, for SHUTDOWN_DRAIN (2 s), /readyz answers 503 and answers close their
connections while requests still arrive; then it stops accepting, lets JSON requests finish and ends NDJSON streams at a chunk boundary (20 s at
most), and stops the workers, which release their claims. Exit 0 whenever the shutdown ran.`

const workerAbout = `Run RECALC_WORKERS (at least 1) recalculation workers and WEBHOOK_WORKERS webhook delivery
workers, without the HTTP API, until SIGINT or SIGTERM. The database must exist and be migrated:
run "invoice-ingest migrate" first.`

func serveCommand(ctx context.Context, args []string, e env) error {
	return serve(ctx, args, e, true)
}

func workerCommand(ctx context.Context, args []string, e env) error {
	return serve(ctx, args, e, false)
}

// serve runs the HTTP server (withHTTP) and the recalculation workers until ctx ends.
func serve(ctx context.Context, args []string, e env, withHTTP bool) error {
	o := serveOptions{withHTTP: withHTTP, lookup: e.lookup, stdout: e.stdout, stderr: e.stderr}
	if err := o.parse(args); err != nil {
		return err
	}
	return runService(ctx, o)
}

func (o *serveOptions) parse(args []string) error {
	if !o.withHTTP {
		return newFlags("worker", "", workerAbout).noArgs(args, o.stdout)
	}
	fs := newFlags("serve", "[--addr HOST:PORT] [--demo-account]", serveAbout)
	fs.StringVar(&o.addr, "addr", "", "listen address (overrides HTTP_ADDR)")
	fs.BoolVar(&o.demo, "demo-account", false, "create a demo account and print its key when no account exists")
	return fs.noArgs(args, o.stdout)
}

// runService starts the service section by section, each section needing only the ones before
// it, then, once ctx ends, stops it in the reverse order.
func runService(ctx context.Context, o serveOptions) error {
	// Configuration.
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	// Database: closed last, after everything that uses it has stopped. Only serve migrates.
	open := openMigrated
	if o.withHTTP {
		open = prepareDatabase
	}
	db, err := open(ctx, cfg.DatabaseURL, dbOptions(cfg, log)...)
	if err != nil {
		return err
	}
	defer db.Close()

	// Prometheus metrics, on their own listener.
	metrics, closeMetrics, err := startMetrics(cfg.MetricsAddr, db, log)
	if err != nil {
		return err
	}
	defer closeMetrics()

	// Runtime, demo account and debug server.
	setGCPercent(o.lookup)
	if o.demo {
		if err := demoAccount(ctx, db, o.stdout); err != nil {
			return err
		}
	}
	closeDebug := startDebug(cfg.DebugAddr, log)
	defer closeDebug()

	// Recalculation workers.
	w, err := startWorkers(db, cfg, log, metrics, o.withHTTP)
	if err != nil {
		return err
	}
	if !o.withHTTP {
		<-ctx.Done()
		log.Info("shutting down")
		stopWorkers(log, w)
		return nil
	}

	// HTTP server.
	srv, err := startAPI(db, cfg, log, metrics, o.hooks)
	if err != nil {
		w.stop()
		return err
	}
	select {
	case err := <-srv.served:
		w.stop()
		return err
	case <-ctx.Done():
	}
	return srv.shutdown(log, w, cfg.ShutdownDrain, o.hooks)
}

// loadConfig reads the environment; --addr wins over HTTP_ADDR.
func (o serveOptions) loadConfig() (config.Config, error) {
	cfg, err := config.Load(o.lookup)
	if err == nil && o.addr != "" {
		cfg.HTTPAddr = o.addr
	}
	return cfg, err
}

// setGCPercent collects at twice the live heap instead of once: each batch allocates garbage in
// proportion to its rows, and the README shows the memory this costs buys back more CPU. GOGC
// set by the operator wins.
func setGCPercent(lookup config.Lookup) {
	if v, _ := lookup("GOGC"); v == "" {
		debug.SetGCPercent(200)
	}
}

// demoAccount creates an account named "demo" when there is none and prints its key, so a new
// user of `make run` has a key to try the API with.
func demoAccount(ctx context.Context, db *models.DB, stdout io.Writer) error {
	n, err := db.CountAccounts(ctx)
	if err != nil || n > 0 {
		return err
	}
	acc, secret, err := db.CreateAccount(ctx, "demo")
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(accountJSON(acc, secret))
}

// startDebug serves pprof on its own listener, never on the API's (profiles are for operators,
// not API clients), and only when DEBUG_ADDR asks for it. It returns what closes it.
func startDebug(addr string, log *slog.Logger) (closeDebug func()) {
	if addr == "" {
		return func() {}
	}
	srv := &http.Server{Addr: addr, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server", slog.String("error", err.Error()))
		}
	}()
	log.Info("debug server", slog.String("addr", addr))
	return func() { srv.Close() }
}

// debugMux serves the runtime profiles of net/http/pprof.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// workers is the recalculation pool. It runs on a context of its own, not the command's, so
// that it stops only after the HTTP server has drained: requests still in flight queue work.
type workers struct {
	cancel context.CancelFunc
	done   chan error // the pool's result; nil at once when no pool runs
}

// stop cancels the pool and waits until its workers have finished or released their claims.
func (w *workers) stop() error {
	w.cancel()
	return <-w.done
}

// stopWorkers stops the pool as part of a shutdown. A claim it could not release (the database
// is down) is not the shutdown's failure: its lease expires and another worker takes it.
func stopWorkers(log *slog.Logger, w *workers) {
	if err := w.stop(); err != nil {
		log.Warn("workers stopped without releasing every claim; their leases expire", slog.String("error", err.Error()))
	}
}

// startWorkers starts RECALC_WORKERS recalculation workers and WEBHOOK_WORKERS webhook
// delivery loops; serve may run none, worker must run some recalculation workers. Stopping
// them waits for both.
func startWorkers(db *models.DB, cfg config.Config, log *slog.Logger, metrics *telemetry.Metrics, withHTTP bool) (*workers, error) {
	if cfg.RecalcWorkers <= 0 && !withHTTP {
		return nil, errors.New("RECALC_WORKERS: must be at least 1 for the worker command")
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &workers{cancel: cancel, done: make(chan error, 1)}
	deliveries := startDeliveries(ctx, db, cfg, log, metrics)
	if cfg.RecalcWorkers <= 0 {
		go func() { <-deliveries; w.done <- nil }()
		return w, nil
	}
	pool := recalc.NewPool(db, recalc.Config{Workers: cfg.RecalcWorkers, Log: log, Finished: func(ok, failed int) {
		metrics.RecalcCustomers("ok", ok)
		metrics.RecalcCustomers("failed", failed)
	}, AlsoSweep: func(ctx context.Context) error { return imports.Sweep(ctx, db.Gorm, cfg.Imports, time.Now()) },
		Written: webhooks.RecalcWritten, Watched: webhooks.RecalcWatched, Listen: recalcListen(cfg)})
	go func() {
		err := pool.Run(ctx)
		<-deliveries
		w.done <- err
	}()
	log.Info("recalculation workers started", slog.Int("workers", cfg.RecalcWorkers),
		slog.Bool("listen", cfg.RecalcListenURL != ""))
	return w, nil
}

// startDeliveries runs WEBHOOK_WORKERS webhook delivery loops until ctx ends; the channel it
// returns is closed once they have stopped (at once when none run).
func startDeliveries(ctx context.Context, db *models.DB, cfg config.Config, log *slog.Logger, metrics *telemetry.Metrics) <-chan struct{} {
	done := make(chan struct{})
	if cfg.Webhooks.Workers <= 0 {
		close(done)
		return done
	}
	pool := webhooks.NewPool(db, webhooks.Config{Workers: cfg.Webhooks.Workers, PollInterval: cfg.Webhooks.PollInterval,
		Guard: webhooks.Guard{AllowPrivate: cfg.Webhooks.AllowPrivate}, Log: log, Attempted: metrics.WebhookDelivery})
	go func() { pool.Run(ctx); close(done) }()
	log.Info("webhook delivery workers started", slog.Int("workers", cfg.Webhooks.Workers))
	return done
}
