package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"invoice-ingest/api"
	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// shutdownTimeout bounds how long in-flight requests may finish after a stop signal.
const shutdownTimeout = 20 * time.Second

// serve runs the HTTP server (withHTTP) and the recalculation workers until ctx ends, then stops
// them in reverse order.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, withHTTP bool) error {
	name := "serve"
	if !withHTTP {
		name = "worker"
	}
	fs := newFlags(name)
	addr := fs.String("addr", "", "listen address (overrides HTTP_ADDR)")
	demo := fs.Bool("demo-account", false, "create a demo account and print its key when no account exists")
	if err := parse(fs, args); err != nil {
		return err
	}

	// Config and database.
	cfg, db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// Each batch allocates garbage in proportion to its rows; collecting at twice the live heap
	// instead of once spends a few MiB to save a tenth of the CPU. GOGC set by the operator wins.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if *demo {
		if err := demoAccount(ctx, db, stdout); err != nil {
			return err
		}
	}

	// Debug: pprof on its own listener, never on the API's, and only when asked for.
	if cfg.DebugAddr != "" {
		debugSrv := &http.Server{Addr: cfg.DebugAddr, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := debugSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("debug server", slog.String("error", err.Error()))
			}
		}()
		defer debugSrv.Close()
		log.Info("debug server", slog.String("addr", cfg.DebugAddr))
	}

	// Recalculation workers: their own context, so they stop after the server has drained.
	workersCtx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	workersDone := make(chan error, 1)
	switch {
	case cfg.RecalcWorkers > 0:
		pool := recalc.NewPool(db, recalc.Config{Workers: cfg.RecalcWorkers, Log: log})
		go func() { workersDone <- pool.Run(workersCtx) }()
		log.Info("recalculation workers started", slog.Int("workers", cfg.RecalcWorkers))
	case !withHTTP:
		return errors.New("RECALC_WORKERS: must be at least 1 for the worker command")
	default:
		workersDone <- nil
	}
	stop := func() error {
		stopWorkers()
		return <-workersDone
	}

	if !withHTTP {
		<-ctx.Done()
		log.Info("shutting down")
		return stop()
	}

	// Server.
	srv := &http.Server{
		Handler:           (&api.Server{DB: db, Config: cfg, Log: log}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		stop()
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		stop()
		return err
	case <-ctx.Done():
	}

	// Shutdown in reverse: stop accepting and finish in-flight requests, then the workers (they
	// finish or release their claims), then the pool closes (deferred).
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	workersErr := stop()
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return workersErr
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
	return json.NewEncoder(stdout).Encode(map[string]string{"account_id": acc.ID.String(), "api_key": secret})
}
