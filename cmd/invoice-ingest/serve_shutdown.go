package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/telemetry"
)

// shutdownTimeout bounds how long requests may finish once the server stops accepting, so that
// a slow or stuck client cannot keep the process from stopping; exitBudget bounds the drain and
// that together, leaving time to close within the 30 s SPEC 6 gives a whole shutdown.
const (
	shutdownTimeout = 20 * time.Second
	exitBudget      = 25 * time.Second
	// handlersGrace is how long handlers still running after the forced close may take to see
	// their canceled context and return, before the database closes under them.
	handlersGrace = 2 * time.Second
)

// shutdownHooks let a test follow and pace the shutdown; every method is a no-op on nil.
type shutdownHooks struct {
	draining chan struct{} // closed when the drain period begins
	endDrain chan struct{} // closing it ends the drain period early
	shutdown chan struct{} // closed once http.Server.Shutdown has begun
}

func (h *shutdownHooks) drainBegun() {
	if h != nil {
		close(h.draining)
	}
}

func (h *shutdownHooks) drainEnded() <-chan struct{} {
	if h == nil {
		return nil
	}
	return h.endDrain
}

func (h *shutdownHooks) shutdownBegun() {
	if h != nil {
		close(h.shutdown)
	}
}

// apiServer is the HTTP server and, on served, what its Serve returned.
type apiServer struct {
	srv        *http.Server
	api        *api.Server
	served     chan error
	stopping   chan struct{}      // closed when the shutdown begins: api.Server.Stopping
	cancelBase context.CancelFunc // cancels every request's context, after the deadline
	handlers   sync.WaitGroup     // requests in a handler
}

// startAPI listens before it returns, so that a taken address is the command's error rather
// than something the Serve goroutine finds later.
func startAPI(db *models.DB, cfg config.Config, log *slog.Logger, metrics *telemetry.Metrics, hooks *shutdownHooks) (*apiServer, error) {
	base, cancelBase := context.WithCancel(context.Background())
	a := &apiServer{served: make(chan error, 1), stopping: make(chan struct{}), cancelBase: cancelBase}
	a.api = &api.Server{DB: db, Config: cfg, Log: log, Metrics: metrics, Stopping: a.stopping}
	a.srv = &http.Server{
		Handler:           a.track(a.api.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests' contexts outlive Shutdown's start: they end only after its deadline.
		BaseContext: func(net.Listener) context.Context { return base },
	}
	a.srv.RegisterOnShutdown(hooks.shutdownBegun)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		cancelBase()
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()))
	go func() { a.served <- a.srv.Serve(ln) }()
	return a, nil
}

// track counts the requests in a handler and, once the shutdown has begun, closes each
// connection after its answer: keep-alives end without an idle connection being closed under
// a client that is sending on it.
func (a *apiServer) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handlers.Add(1)
		defer a.handlers.Done()
		select {
		case <-a.stopping:
			w.Header().Set("Connection", "close")
		default:
		}
		h.ServeHTTP(w, r)
	})
}

// shutdown stops the service in the reverse order of its start (SPEC 6, docs/operations.md):
//
//  1. drain: /readyz answers 503 and every answer closes its connection, for drain, while
//     requests are still accepted and answered; NDJSON streams end at their chunk boundary;
//  2. Shutdown: stop accepting, close idle connections, let requests in flight finish, for
//     shutdownTimeout at most; meanwhile the workers stop and release their claims;
//  3. past the deadline, Close the connections left and cancel the requests' contexts;
//
// then runService's deferred closes follow. It returns an error only when the server failed
// for another reason: a deadline passed or a database that is down are part of the design.
func (a *apiServer) shutdown(log *slog.Logger, w *workers, drain time.Duration, hooks *shutdownHooks) error {
	log.Info("shutting down", slog.String("drain", drain.String()))
	close(a.stopping)
	hooks.drainBegun()
	if drain > 0 {
		t := time.NewTimer(drain)
		select {
		case <-t.C:
		case <-hooks.drainEnded():
		}
		t.Stop()
	}

	workersDone := make(chan struct{})
	go func() { stopWorkers(log, w); close(workersDone) }()
	a.srv.SetKeepAlivesEnabled(false)
	ctx, cancel := context.WithTimeout(context.Background(), min(shutdownTimeout, exitBudget-drain))
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		log.Warn("requests still running at the shutdown deadline: closing their connections", slog.String("error", err.Error()))
		_ = a.srv.Close()
	}
	a.cancelBase()
	a.waitHandlers(log)
	a.api.Close()
	<-workersDone
	if err := <-a.served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// waitHandlers gives handlers whose context was just canceled handlersGrace to return.
func (a *apiServer) waitHandlers(log *slog.Logger) {
	done := make(chan struct{})
	go func() { a.handlers.Wait(); close(done) }()
	t := time.NewTimer(handlersGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("handlers still running after the shutdown; exiting anyway")
	}
}
