package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
	"invoice-ingest/telemetry"
)

// startMetrics serves Prometheus /metrics on METRICS_ADDR, never on the API's listener (what the
// scraper sees is for operators), and returns the metrics the other sections record into and what
// closes the listener. With METRICS_ADDR set empty the metrics are still recorded, not served.
func startMetrics(addr string, db *models.DB, log *slog.Logger) (*telemetry.Metrics, func(), error) {
	m := telemetry.New()
	m.WatchPool(db.SQL)
	m.WatchQueue(func(ctx context.Context) (int64, time.Duration, error) { return recalc.Backlog(ctx, db) })
	if addr == "" {
		return m, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("METRICS_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", slog.String("error", err.Error()))
		}
	}()
	log.Info("metrics", slog.String("addr", ln.Addr().String()))
	return m, func() { srv.Close() }, nil
}
