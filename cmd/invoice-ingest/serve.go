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
	"time"

	"invoice-ingest/api"
	"invoice-ingest/models"
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
	if *demo {
		if err := demoAccount(ctx, db, stdout); err != nil {
			return err
		}
	}

	if !withHTTP {
		log.Info("worker started")
		<-ctx.Done()
		return nil
	}

	// Server.
	srv := &http.Server{
		Handler:           (&api.Server{DB: db, Config: cfg, Log: log}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
