// Package config loads the service's one Config from the environment, with defaults, and validates
// it at start-up so a bad value stops the process with one line naming the variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDatabaseURL is used when DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/invoice_ingest?sslmode=disable"

// Config is everything the service reads from its environment.
type Config struct {
	DatabaseURL   string // DATABASE_URL
	HTTPAddr      string // HTTP_ADDR
	MaxRows       int    // INGEST_MAX_ROWS: most rows in one JSON request
	MaxBodyBytes  int64  // INGEST_MAX_BODY_BYTES: largest request body
	RecalcWorkers int    // RECALC_WORKERS: concurrent recalculation workers (0 = none)
	LogLevel      slog.Level
	DebugAddr     string // DEBUG_ADDR: where /debug/pprof listens; empty (the default) = off
	MetricsAddr   string // METRICS_ADDR: where Prometheus /metrics listens; set empty = off

	// RecalcListenURL is where recalculation workers LISTEN for committed writes; empty = poll
	// only (RECALC_LISTEN_URL, config/recalc.go).
	RecalcListenURL string

	// Admission control (SPEC 3, docs/limits.md). Every limit is per process; 0 = no limit.
	Limits Limits

	// Streams, request deadlines and shutdown (streams.go).
	StreamIdleTimeout    time.Duration // STREAM_IDLE_TIMEOUT: an NDJSON stream silent this long is ended; 0 = never
	MaxStreamsPerAccount int           // MAX_STREAMS_PER_ACCOUNT: NDJSON streams of one account at once; 0 = no limit
	RequestTimeout       time.Duration // REQUEST_TIMEOUT: deadline of every other request; 0 = none
	ShutdownDrain        time.Duration // SHUTDOWN_DRAIN: /readyz answers 503 this long before the server stops

	DB Database // DB_*: the database pool (config/database.go)

	Imports Imports // IDEMPOTENCY_TTL, IMPORTS_RETENTION (config/imports.go)

	Webhooks Webhooks // WEBHOOK_* (config/webhooks.go)
}

// Limits are the admission limits of one process (docs/limits.md).
type Limits struct {
	WritesPerSecond       float64 // RATE_LIMIT_WRITES: write requests per second per account (burst 2x)
	ReadsPerSecond        float64 // RATE_LIMIT_READS: read requests per second per account (burst 2x)
	AuthFailuresPerSecond float64 // RATE_LIMIT_AUTH_FAILURES: failed authentications per second per client address (burst 2x)
	MaxInflightWrites     int     // MAX_INFLIGHT_WRITES: write requests this process runs at once
}

// Lookup reads one environment variable: its value and whether it is set (os.LookupEnv in
// production, a map in tests). Set but empty counts as unset, except where a variable says so.
type Lookup func(name string) (value string, set bool)

// Load reads the environment through lookup.
func Load(lookup Lookup) (Config, error) {
	getenv := func(name string) string { v, _ := lookup(name); return v }
	c := Config{
		DatabaseURL:   DefaultDatabaseURL,
		HTTPAddr:      "127.0.0.1:8080",
		MaxRows:       10000,
		MaxBodyBytes:  32 << 20,
		RecalcWorkers: 2,
		LogLevel:      slog.LevelInfo,
		MetricsAddr:   "127.0.0.1:9464",
		Limits:        Limits{WritesPerSecond: 50, ReadsPerSecond: 200, AuthFailuresPerSecond: 10, MaxInflightWrites: 64},
	}
	if v := getenv("DATABASE_URL"); v != "" {
		cfg, err := pgx.ParseConfig(v)
		if err != nil || cfg.Database == "" {
			return c, fmt.Errorf("DATABASE_URL: must be a PostgreSQL URL naming a database, e.g. %s", DefaultDatabaseURL)
		}
		c.DatabaseURL = v
	}
	if err := c.loadAddrs(lookup); err != nil {
		return c, err
	}
	var err error
	if c.MaxRows, err = intVar(getenv, "INGEST_MAX_ROWS", c.MaxRows, 1); err != nil {
		return c, err
	}
	maxBody, err := intVar(getenv, "INGEST_MAX_BODY_BYTES", int(c.MaxBodyBytes), 1024)
	if err != nil {
		return c, err
	}
	c.MaxBodyBytes = int64(maxBody)
	if c.RecalcWorkers, err = intVar(getenv, "RECALC_WORKERS", c.RecalcWorkers, 0); err != nil {
		return c, err
	}
	if c.Limits, err = loadLimits(getenv, c.Limits); err != nil {
		return c, err
	}
	if err := loadDatabase(&c, getenv); err != nil {
		return c, err
	}
	if err := c.loadRecalcListen(getenv); err != nil {
		return c, err
	}
	if c.LogLevel, err = logLevel(getenv("LOG_LEVEL")); err != nil {
		return c, err
	}
	return c, errors.Join(c.loadImports(getenv), c.loadStreams(getenv), c.loadWebhooks(getenv))
}

// loadAddrs reads the listen addresses: HTTP_ADDR, METRICS_ADDR (set empty: off), DEBUG_ADDR.
func (c *Config) loadAddrs(lookup Lookup) error {
	for _, a := range []struct {
		name, example string
		dst           *string
		emptyIsOff    bool
	}{
		{"HTTP_ADDR", "127.0.0.1:8080", &c.HTTPAddr, false},
		{"METRICS_ADDR", "127.0.0.1:9464, or empty for none", &c.MetricsAddr, true},
		{"DEBUG_ADDR", "127.0.0.1:6060", &c.DebugAddr, false},
	} {
		v, set := lookup(a.name)
		switch {
		case !set || (v == "" && !a.emptyIsOff):
			continue
		case v != "":
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("%s: must be host:port, e.g. %s (got %q)", a.name, a.example, v)
			}
		}
		*a.dst = v
	}
	return nil
}

// logLevel reads LOG_LEVEL; empty is info.
func logLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("LOG_LEVEL: must be debug, info, warn or error (got %q)", v)
}

func intVar(getenv func(string) string, name string, def, min int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return def, fmt.Errorf("%s: must be an integer >= %d (got %q)", name, min, v)
	}
	return n, nil
}

// loadLimits reads the admission limits over their defaults in l.
func loadLimits(getenv func(string) string, l Limits) (Limits, error) {
	var err error
	for _, v := range []struct {
		name string
		dst  *float64
	}{
		{"RATE_LIMIT_WRITES", &l.WritesPerSecond},
		{"RATE_LIMIT_READS", &l.ReadsPerSecond},
		{"RATE_LIMIT_AUTH_FAILURES", &l.AuthFailuresPerSecond},
	} {
		if *v.dst, err = rateVar(getenv, v.name, *v.dst); err != nil {
			return l, err
		}
	}
	if l.MaxInflightWrites, err = intVar(getenv, "MAX_INFLIGHT_WRITES", l.MaxInflightWrites, 0); err != nil {
		return l, err
	}
	return l, nil
}

// rateVar reads a rate in requests per second: a number >= 0, fractions allowed, 0 = no limit.
func rateVar(getenv func(string) string, name string, def float64) (float64, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return def, fmt.Errorf("%s: must be a number of requests per second >= 0, 0 = no limit (got %q)", name, v)
	}
	return f, nil
}
