package config

import (
	"fmt"
	"strings"
	"time"
)

// Database is the pool's part of Config: the DB_* variables (docs/database.md).
type Database struct {
	// MaxConns is the pool size: DB_MAX_CONNS, raised to MinConns(RecalcWorkers) when lower.
	MaxConns int
	// RequestedMaxConns is DB_MAX_CONNS as given, when MaxConns had to be raised above it (the
	// service logs that at start); 0 otherwise.
	RequestedMaxConns int
	// StatementTimeout is DB_STATEMENT_TIMEOUT, PostgreSQL's statement_timeout of the service's
	// sessions; 0 = the server's setting.
	StatementTimeout time.Duration
	// IdleInTxTimeout is DB_IDLE_IN_TRANSACTION_TIMEOUT, PostgreSQL's
	// idle_in_transaction_session_timeout; 0 = the server's setting.
	IdleInTxTimeout time.Duration
	// ConnectTimeout is DB_CONNECT_TIMEOUT, the bound of one attempt to open a connection.
	ConnectTimeout time.Duration
	// Pooler is DB_POOLER: "none" (the default) or "pgbouncer", a transaction-pooling PgBouncer
	// between the service and PostgreSQL (no named statements, no startup parameters).
	Pooler string
}

// PgBouncer tells whether a transaction-pooling PgBouncer sits in front of PostgreSQL.
func (d Database) PgBouncer() bool { return d.Pooler == "pgbouncer" }

// MinConns is the smallest pool a process running workers recalculation workers may have: each
// worker can hold 2 connections (its batch and the lease heartbeat), the sweep 1, and 4 remain for
// HTTP requests and health checks.
func MinConns(workers int) int {
	if workers <= 0 {
		return 4
	}
	return 2*workers + 1 + 4
}

// loadDatabase reads the DB_* variables into c.DB; c.RecalcWorkers must be read already.
func loadDatabase(c *Config, getenv func(string) string) error {
	c.DB = Database{MaxConns: 20, StatementTimeout: time.Minute, IdleInTxTimeout: time.Minute,
		ConnectTimeout: 5 * time.Second, Pooler: "none"}
	n, err := intVar(getenv, "DB_MAX_CONNS", c.DB.MaxConns, 1)
	if err != nil {
		return err
	}
	if floor := MinConns(c.RecalcWorkers); n < floor {
		c.DB.RequestedMaxConns, n = n, floor
	}
	c.DB.MaxConns = n
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{
		{"DB_STATEMENT_TIMEOUT", &c.DB.StatementTimeout, 0},
		{"DB_IDLE_IN_TRANSACTION_TIMEOUT", &c.DB.IdleInTxTimeout, 0},
		{"DB_CONNECT_TIMEOUT", &c.DB.ConnectTimeout, time.Second},
	} {
		if err := durationVar(getenv, d.name, d.dst, d.min); err != nil {
			return err
		}
	}
	switch v := strings.ToLower(getenv("DB_POOLER")); v {
	case "":
	case "none", "pgbouncer":
		c.DB.Pooler = v
	default:
		return fmt.Errorf("DB_POOLER: must be none or pgbouncer (got %q)", getenv("DB_POOLER"))
	}
	return nil
}

// durationVar reads variable name as a Go duration ("60s", "1m30s") into dst, leaving dst when
// unset. With min 0, "0" means off; otherwise the duration must be at least min.
func durationVar(getenv func(string) string, name string, dst *time.Duration, min time.Duration) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if v == "0" {
		d, err = 0, nil
	}
	if err != nil || d < min {
		return fmt.Errorf("%s: must be a duration like 60s or 1m%s (got %q)", name, zeroNote(min), v)
	}
	*dst = d
	return nil
}

func zeroNote(min time.Duration) string {
	if min > 0 {
		return fmt.Sprintf(", at least %s", min)
	}
	return ", or 0 for none"
}
